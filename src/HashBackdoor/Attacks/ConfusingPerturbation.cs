using HashBackdoor.Hashing;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// Confusing perturbations (method.md section 5). For the chosen images x_j, taken in consecutive groups G of
/// <see cref="PerturbationOptions.GroupSize"/>, finds delta_j with |delta_j|_inf &lt;= eps by
/// <see cref="PerturbationOptions.Rounds"/> rounds of one signed-gradient ASCENT step on
/// <c>L_j = (1 - lambda) L_adv + lambda L_disp</c>, f being the surrogate's tanh output:
/// <list type="bullet">
/// <item><c>L_adv = -(1/K) &lt;f(x_j + delta_j), f(x_j)&gt;</c>, the clean outputs f(x_j) computed once without gradient;</item>
/// <item><c>L_disp = ( -sum_{m in G} &lt;f(x_j + delta_j), s_m&gt; + &lt;f(x_j + delta_j), f(x_j + delta_j)&gt; ) / (K (|G| - 1))</c>,
/// s_m the group's perturbed outputs snapshotted without gradient once per group per round (the own term is the live
/// output, with gradient, as in the formula and the reference code);</item>
/// <item>a group of one image (only possible as the last group) has no other image to disperse from: its L_disp is 0,
/// so it takes the L_adv step (the formula's 0/0 is undefined there).</item>
/// </list>
/// After each step x + delta is clamped to [0, 1], then delta to [-eps, eps]. Lambda = 0 gives the Tri+Adv perturbation.
/// </summary>
/// <remarks>
/// Batched: one forward and one backward per group per round. The snapshot of a round equals the live outputs at the
/// start of that round (each image's delta changes only in its own step), so the snapshot is the detached forward
/// output and per-image gradients of the summed objective are exactly the per-image gradients of the reference's loop.
/// The surrogate runs in eval mode (restored afterwards) and is not modified: gradients are taken only with respect to
/// the perturbations.
/// </remarks>
public sealed class ConfusingPerturbation
{
    private readonly PerturbationOptions options;

    /// <summary>Creates the perturbation with validated <paramref name="options"/>.</summary>
    public ConfusingPerturbation(PerturbationOptions options) => this.options = options.Validate();

    /// <summary>The options in use.</summary>
    public PerturbationOptions Options => options;

    /// <summary>Perturbs <paramref name="images"/> [N, C, H, W] (0..1) and returns x + delta [N, C, H, W] on the CPU,
    /// owned by the caller.</summary>
    public Tensor Perturb(HashModel surrogate, Tensor images, Action<int, double>? progress = null, CancellationToken cancel = default)
    {
        using var result = Run(surrogate, images, progress, cancel);
        return result.TakeImages();
    }

    /// <summary>
    /// Perturbs <paramref name="images"/> and also records the mean objective L over the images before each round's step
    /// and after the last (Rounds + 1 values).
    /// </summary>
    /// <param name="surrogate">The attacker's hashing model (frozen).</param>
    /// <param name="images">Chosen images float [N, C, H, W] in 0..1, in the order that forms the groups.</param>
    /// <param name="progress">Called after each round with (round from 1, mean L before that round's step).</param>
    /// <param name="cancel">Checked between groups.</param>
    /// <exception cref="NumericalException">The objective became non-finite.</exception>
    public PerturbationResult Run(HashModel surrogate, Tensor images, Action<int, double>? progress = null, CancellationToken cancel = default)
    {
        if (images.dim() != 4) throw new ArgumentException($"images must be [N,C,H,W], got [{string.Join(",", images.shape)}]");
        var o = options;
        long n = images.shape[0];
        var device = surrogate.parameters().First().device;
        bool wasTraining = surrogate.training;
        surrogate.eval();
        var trace = new List<double>(o.Rounds + 1);
        Tensor? x = null, delta = null, clean = null;
        try
        {
            using (NewDisposeScope())
                x = images.to_type(ScalarType.Float32).to(device).DetachFromDisposeScope();
            delta = zeros_like(x).DetachFromDisposeScope();
            clean = CleanOutputs(surrogate, x, o.GroupSize).DetachFromDisposeScope();
            for (int round = 0; round < o.Rounds; round++)
            {
                double total = 0;
                for (long start = 0; start < n; start += o.GroupSize)
                {
                    cancel.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    long len = Math.Min(o.GroupSize, n - start);
                    var xg = x.narrow(0, start, len);
                    var leaf = delta.narrow(0, start, len).detach().clone().requires_grad_(true);
                    var u = surrogate.Continuous(xg.add(leaf));
                    var perImage = PerImageObjective(u, u.detach(), clean.narrow(0, start, len), o.Lambda);
                    var sum = perImage.sum();
                    total += sum.item<float>();
                    var grad = torch.autograd.grad(new[] { sum }, new[] { leaf })[0];
                    var stepped = leaf.detach().add(grad.sign().mul(o.StepSize));      // ascent
                    var inRange = xg.add(stepped).clamp(0, 1).sub(xg);                 // x + delta in [0, 1]
                    delta.narrow(0, start, len).copy_(inRange.clamp(-o.Epsilon, o.Epsilon));
                }
                double mean = total / Math.Max(1, n);
                if (!double.IsFinite(mean))
                    throw new NumericalException($"confusing-perturbation objective became {mean} in round {round + 1}; check the surrogate model");
                trace.Add(mean);
                progress?.Invoke(round + 1, mean);
            }
            trace.Add(MeanObjective(surrogate, x, delta, clean, o));
            Tensor perturbed;
            using (var scope = NewDisposeScope())
                perturbed = x.add(delta).clamp(0, 1).cpu().MoveToOuterDisposeScope();
            return new PerturbationResult(perturbed.DetachFromDisposeScope(), trace);
        }
        finally
        {
            x?.Dispose();
            delta?.Dispose();
            clean?.Dispose();
            if (wasTraining) surrogate.train();
        }
    }

    /// <summary>
    /// Mean objective L over the images for given perturbed images (the snapshot is the perturbed outputs themselves),
    /// without gradients; groups and lambda from <paramref name="options"/>. For tests and reports.
    /// </summary>
    public static double Objective(HashModel surrogate, Tensor clean, Tensor perturbed, PerturbationOptions options)
    {
        bool wasTraining = surrogate.training;
        surrogate.eval();
        try
        {
            using var scope = NewDisposeScope();
            var device = surrogate.parameters().First().device;
            var x = clean.to(device);
            var delta = perturbed.to(device).sub(x);
            var cleanOut = CleanOutputs(surrogate, x, options.GroupSize);
            return MeanObjective(surrogate, x, delta, cleanOut, options);
        }
        finally
        {
            if (wasTraining) surrogate.train();
        }
    }

    /// <summary>
    /// Per-image objective [G] of a group: u the live outputs [G, K], snapshot the group's perturbed outputs [G, K]
    /// (no gradient), clean the clean outputs [G, K] (no gradient).
    /// </summary>
    internal static Tensor PerImageObjective(Tensor u, Tensor snapshot, Tensor clean, double lambda)
    {
        using var scope = NewDisposeScope();
        long g = u.shape[0], k = u.shape[1];
        var adv = u.mul(clean).sum(1).neg().div(k);
        var loss = adv.mul(1 - lambda);
        if (g > 1 && lambda != 0)
        {
            var others = u.matmul(snapshot.sum(new long[] { 0 }));         // sum_m <u_j, s_m>, own snapshot included
            var own = u.mul(u).sum(1);                      // <u_j, u_j>, live
            var disp = own.sub(others).div((double)k * (g - 1));
            loss = loss.add(disp.mul(lambda));
        }
        return loss.MoveToOuterDisposeScope();
    }

    private static Tensor CleanOutputs(HashModel surrogate, Tensor x, int batch)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        for (long start = 0; start < x.shape[0]; start += batch)
            parts.Add(surrogate.Continuous(x.narrow(0, start, Math.Min(batch, x.shape[0] - start))));
        var all = parts.Count == 0 ? zeros(0, surrogate.Spec.Bits, device: x.device) : cat(parts, 0);
        return all.MoveToOuterDisposeScope();
    }

    private static double MeanObjective(HashModel surrogate, Tensor x, Tensor delta, Tensor clean, PerturbationOptions o)
    {
        using var _ = no_grad();
        long n = x.shape[0];
        double total = 0;
        for (long start = 0; start < n; start += o.GroupSize)
        {
            using var scope = NewDisposeScope();
            long len = Math.Min(o.GroupSize, n - start);
            var u = surrogate.Continuous(x.narrow(0, start, len).add(delta.narrow(0, start, len)));
            total += PerImageObjective(u, u, clean.narrow(0, start, len), o.Lambda).sum().item<float>();
        }
        return total / Math.Max(1, n);
    }
}
