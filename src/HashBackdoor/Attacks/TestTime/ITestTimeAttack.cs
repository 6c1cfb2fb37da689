using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks.TestTime;

/// <summary>
/// A test-time targeted attack on a deep hashing model: perturbs query images, within an L-infinity budget, so that
/// their codes retrieve images of a target class. A new attack is one new class implementing this interface with a
/// public parameterless constructor: <see cref="TestTimeAttacks"/> finds it by its <see cref="Name"/>.
/// </summary>
public interface ITestTimeAttack
{
    /// <summary>Registry name (lower case), for example "dhta".</summary>
    string Name { get; }

    /// <summary>Perturbs <paramref name="queries"/> [N, C, H, W] (0..1) against <see cref="TestTimeAttackContext.Model"/>.
    /// The result is owned by the caller.</summary>
    TestTimeAttackResult Attack(Tensor queries, TestTimeAttackContext context, CancellationToken cancel = default);
}

/// <summary>What a test-time attack may use: the attacked model, its codes of the training set (the attacker's
/// knowledge of the target class, as in the papers), the target class and the options.</summary>
/// <param name="Model">The attacked model (clean or backdoored); not modified.</param>
/// <param name="TrainCodes">The model's codes of the training images, float [N, K] in {-1, 0, +1}
/// (<see cref="HashEncoder.Encode"/>).</param>
/// <param name="TrainLabels">Multi-hot labels float [N, C] of the same images.</param>
/// <param name="TargetClass">The target class.</param>
/// <param name="Options">Budget, steps, step size, seed.</param>
public sealed record TestTimeAttackContext(HashModel Model, Tensor TrainCodes, Tensor TrainLabels, int TargetClass,
    TestTimeAttackOptions Options)
{
    /// <summary>Called during the optimisation with (queries finished before the current batch, steps done in it).</summary>
    public Action<long, int>? Progress { get; init; }

    /// <summary>Checks the context: target class, shapes, and that the codes have the model's length.</summary>
    /// <exception cref="UsageException">Unknown target class or codes of another length than the model's bits.</exception>
    public TestTimeAttackContext Validate()
    {
        Options.Validate();
        if (TrainCodes.dim() != 2 || TrainLabels.dim() != 2 || TrainCodes.shape[0] != TrainLabels.shape[0])
            throw new ArgumentException($"training codes [N,K] and labels [N,C] must have the same N, got [{string.Join(",", TrainCodes.shape)}] and [{string.Join(",", TrainLabels.shape)}]");
        AttackValidation.TargetClass(TargetClass, (int)TrainLabels.shape[1]);
        if (TrainCodes.shape[1] != Model.Spec.Bits)
            throw new UsageException($"training codes have {TrainCodes.shape[1]} bits but the model has {Model.Spec.Bits}; encode the training set with the attacked model");
        return this;
    }
}

/// <summary>Adversarial queries and what they were pushed towards. Owns its tensors.</summary>
/// <param name="Adversarial">x + delta, float [N, C, H, W] on the CPU, in 0..1.</param>
/// <param name="TargetCodes">The code each query was pushed towards, float [N, K] in {-1, 0, +1}.</param>
/// <param name="TargetRows">Training-set rows whose codes were the targets (P2P: one per query), or empty when the
/// target is not a single training code (DHTA's anchor).</param>
/// <param name="LossTrace">Mean loss over the queries before each step and after the last.</param>
public sealed record TestTimeAttackResult(Tensor Adversarial, Tensor TargetCodes, long[] TargetRows, IReadOnlyList<double> LossTrace)
    : IDisposable
{
    /// <inheritdoc/>
    public void Dispose()
    {
        Adversarial.Dispose();
        TargetCodes.Dispose();
    }
}
