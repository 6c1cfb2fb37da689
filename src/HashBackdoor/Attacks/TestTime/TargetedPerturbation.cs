using HashBackdoor.Hashing;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks.TestTime;

/// <summary>
/// The optimisation shared by the test-time targeted attacks (Bai et al., ECCV 2020): for each query x_i with target
/// code h_i, finds delta_i with |delta_i|_inf &lt;= eps and x_i + delta_i in [0, 1] that minimises
/// <c>L_i = -(1/K) &lt;tanh(beta z(x_i + delta_i)), h_i&gt;</c>, beta following
/// <see cref="TestTimeAttackOptions.BetaSchedule"/>. Each step moves delta against the gradient
/// (<see cref="StepRule"/>), then clamps x + delta to [0, 1] and delta to [-eps, eps]. delta starts at 0; the last
/// iterate is returned (as the reference code does).
/// </summary>
/// <remarks>
/// Batched: the model runs in eval mode, where every image is processed independently, so the gradient of
/// <c>sum_i L_i</c> with respect to delta_i is the gradient of L_i alone. Each batch of
/// <see cref="TestTimeAttackOptions.BatchSize"/> queries takes one forward and one backward pass per step; the model is
/// not modified (gradients are taken only with respect to delta).
/// </remarks>
public sealed class TargetedPerturbation
{
    private readonly TestTimeAttackOptions options;

    /// <summary>Creates the optimiser with validated <paramref name="options"/>.</summary>
    public TargetedPerturbation(TestTimeAttackOptions options) => this.options = options.Validate();

    /// <summary>The options in use.</summary>
    public TestTimeAttackOptions Options => options;

    /// <summary>
    /// Perturbs <paramref name="images"/> [N, C, H, W] (0..1) towards <paramref name="targets"/> [N, K] and returns the
    /// adversarial images [N, C, H, W] on the CPU (owned by the caller) and the mean loss before each step and after
    /// the last (Steps + 1 values, averaged over all queries).
    /// </summary>
    /// <param name="model">The attacked hashing model (frozen; eval mode during the call, restored afterwards).</param>
    /// <param name="images">Query images in 0..1.</param>
    /// <param name="targets">Target codes, float [N, K] in {-1, 0, +1}.</param>
    /// <param name="progress">Called after each step of each batch with (queries finished so far, steps done in the
    /// current batch).</param>
    /// <param name="cancel">Checked before every step.</param>
    /// <exception cref="UsageException">The target codes' length differs from the model's bits.</exception>
    /// <exception cref="NumericalException">The loss became non-finite.</exception>
    public (Tensor Adversarial, IReadOnlyList<double> LossTrace) Run(HashModel model, Tensor images, Tensor targets,
        Action<long, int>? progress = null, CancellationToken cancel = default)
    {
        CheckShapes(model, images, targets);
        var o = options;
        long n = images.shape[0];
        var device = model.parameters().First().device;
        bool wasTraining = model.training;
        model.eval();
        var totals = new double[o.Steps + 1];
        var parts = new List<Tensor>();
        try
        {
            for (long start = 0; start < n; start += o.BatchSize)
            {
                long len = Math.Min(o.BatchSize, n - start);
                using var batchScope = NewDisposeScope();
                var x = images.narrow(0, start, len).to_type(ScalarType.Float32).to(device);
                var h = targets.narrow(0, start, len).to_type(ScalarType.Float32).to(device);
                var delta = zeros_like(x);
                for (int step = 0; step < o.Steps; step++)
                {
                    cancel.ThrowIfCancellationRequested();
                    using var stepScope = NewDisposeScope();
                    var (next, lossSum) = StepCore(model, x, delta, h, o.BetaAt(step), o.EffectiveStepSize, o.Epsilon, o.Rule);
                    if (!double.IsFinite(lossSum))
                        throw new NumericalException($"test-time attack loss became {lossSum} at step {step + 1}; check the model");
                    totals[step] += lossSum;
                    delta.copy_(next);
                    progress?.Invoke(start, step + 1);
                }
                using (no_grad())
                using (var s = NewDisposeScope())
                    totals[o.Steps] += PerQueryLoss(model, x, delta, h, o.BetaAt(o.Steps - 1)).sum().item<float>();
                parts.Add(x.add(delta).clamp(0, 1).cpu().DetachFromDisposeScope());
            }
            var adversarial = n == 0 ? zeros_like(images).cpu() : cat(parts, 0);
            return (adversarial, totals.Select(t => t / Math.Max(1, n)).ToArray());
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
            if (wasTraining) model.train();
        }
    }

    /// <summary>
    /// Per-query loss [N]: <c>L_i = -(1/K) &lt;tanh(beta z(x_i + delta_i)), h_i&gt;</c>. Carries gradients when
    /// <paramref name="delta"/> requires them.
    /// </summary>
    public static Tensor PerQueryLoss(HashModel model, Tensor x, Tensor delta, Tensor targets, double beta)
    {
        using var scope = NewDisposeScope();
        var u = model.Continuous(x.add(delta), beta);
        return u.mul(targets).sum(1).div(-(double)targets.shape[1]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One step for a batch: the new perturbation [N, C, H, W] (x + delta clamped to [0, 1], then delta to
    /// [-eps, eps]) and the summed loss before the step. The model must be in eval mode.
    /// </summary>
    public static Tensor Step(HashModel model, Tensor x, Tensor delta, Tensor targets, double beta, double stepSize,
        double epsilon, StepRule rule)
    {
        using var scope = NewDisposeScope();
        return StepCore(model, x, delta, targets, beta, stepSize, epsilon, rule).Delta.MoveToOuterDisposeScope();
    }

    private static (Tensor Delta, double LossSum) StepCore(HashModel model, Tensor x, Tensor delta, Tensor targets,
        double beta, double stepSize, double epsilon, StepRule rule)
    {
        var leaf = delta.detach().clone().requires_grad_(true);
        var sum = PerQueryLoss(model, x, leaf, targets, beta).sum();
        double lossSum = sum.item<float>();
        var grad = torch.autograd.grad(new[] { sum }, new[] { leaf })[0];
        Tensor direction;
        if (rule == StepRule.Sign) direction = grad.sign();
        else
        {
            var norm = grad.flatten(1).pow(2).sum(1).sqrt().view(-1, 1, 1, 1);
            direction = grad.div(norm.clamp_min(1e-30));
        }
        var stepped = leaf.detach().sub(direction.mul(stepSize));            // descent
        var inRange = x.add(stepped).clamp(0, 1).sub(x);                       // x + delta in [0, 1]
        return (inRange.clamp(-epsilon, epsilon), lossSum);
    }

    private static void CheckShapes(HashModel model, Tensor images, Tensor targets)
    {
        if (images.dim() != 4) throw new ArgumentException($"images must be [N,C,H,W], got [{string.Join(",", images.shape)}]");
        if (targets.dim() != 2 || targets.shape[0] != images.shape[0])
            throw new ArgumentException($"target codes must be [N,K] with N={images.shape[0]}, got [{string.Join(",", targets.shape)}]");
        if (targets.shape[1] != model.Spec.Bits)
            throw new UsageException($"target codes have {targets.shape[1]} bits but the model has {model.Spec.Bits}; were the codes made by another model?");
    }
}
