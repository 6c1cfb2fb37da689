namespace HashBackdoor.Attacks;

/// <summary>
/// The reference's temperature schedule of tanh(beta z), shared by the trigger optimisation and the test-time attacks:
/// the first value holds for the first half of the steps, the remaining values share the second half in equal
/// consecutive slices (the reference's thresholds 250k, 300k, ..., 450k with k = steps / 500).
/// </summary>
public static class BetaSchedule
{
    /// <summary>Beta of step <paramref name="step"/> (0-based) of <paramref name="steps"/>:
    /// <c>schedule[0]</c> while step &lt; steps/2, then <c>schedule[1 + floor((step - steps/2) * m / (steps/2))]</c> with
    /// m = schedule.Count - 1 slices.</summary>
    public static double At(IReadOnlyList<double> schedule, int steps, int step)
    {
        double half = steps / 2.0;
        if (schedule.Count == 1 || step < half) return schedule[0];
        int m = schedule.Count - 1;
        int slice = (int)Math.Floor((step - half) * m / half);
        return schedule[1 + Math.Clamp(slice, 0, m - 1)];
    }
}
