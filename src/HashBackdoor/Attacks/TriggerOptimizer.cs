using HashBackdoor.Hashing;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// Optimises the patch trigger against a frozen surrogate (method.md section 4), a targeted adversarial patch toward the
/// anchor code h_a. Per image, <c>L = -(1/K) &lt;tanh(beta z(x with patch)), h_a&gt;</c>; each step samples
/// <see cref="TriggerOptions.BatchSize"/> training images with replacement, L2-normalises each image's gradient with
/// respect to the patch pixels, moves the patch by <c>-alpha</c> times the mean normalised gradient and clamps it to 0..1.
/// </summary>
/// <remarks>
/// The surrogate runs in eval mode (restored afterwards) and is never modified: gradients are taken only with respect to
/// the patch leaf with <c>torch.autograd.grad</c>, so no parameter's <c>.grad</c> is touched. In eval mode the images of a
/// batch do not interact, so one backward pass of the summed loss through a batch in which every image has its own copy
/// of the patch gives every per-image gradient at once.
/// </remarks>
public sealed class TriggerOptimizer
{
    /// <summary>Added to each per-image gradient norm before dividing (as the reference), so a zero gradient stays zero.</summary>
    internal const double NormEpsilon = 1e-8;

    private readonly TriggerOptions options;

    /// <summary>Creates an optimiser with validated <paramref name="options"/>.</summary>
    public TriggerOptimizer(TriggerOptions options) => this.options = options.Validate();

    /// <summary>The options in use.</summary>
    public TriggerOptions Options => options;

    /// <summary>
    /// Runs <see cref="TriggerOptions.Steps"/> steps from the patch <see cref="TriggerOptions.Init"/> names (by default
    /// a uniform patch of <see cref="TriggerOptions.InitValue"/>).
    /// </summary>
    /// <param name="surrogate">The attacker's trained hashing model (frozen).</param>
    /// <param name="trainImages">Training images float [N, C, H, W] in 0..1 (all classes), on any device.</param>
    /// <param name="anchor">Anchor code float [K] (<see cref="AnchorCode.Compute"/>).</param>
    /// <param name="progress">Called after every step with (step number from 1, mean loss of that step's batch before the move).</param>
    /// <param name="cancel">Checked between steps.</param>
    /// <returns>The optimised trigger (on the CPU), owned by the caller.</returns>
    /// <exception cref="NumericalException">The loss became non-finite.</exception>
    public PatchTrigger Optimize(HashModel surrogate, Tensor trainImages, Tensor anchor, Action<int, double>? progress = null,
        CancellationToken cancel = default)
    {
        var o = options;
        if (trainImages.dim() != 4) throw new ArgumentException($"images must be [N,C,H,W], got [{string.Join(",", trainImages.shape)}]");
        long n = trainImages.shape[0];
        if (n < 1) throw new UsageException("the training set is empty; the trigger needs images to optimise on");
        int c = (int)trainImages.shape[1], h = (int)trainImages.shape[2], w = (int)trainImages.shape[3];
        AttackValidation.TriggerFits(o.Size, c, c, h, w);
        CheckAnchor(surrogate, anchor);

        var device = surrogate.parameters().First().device;
        bool wasTraining = surrogate.training;
        surrogate.eval();
        using var gen = new Generator();
        gen.manual_seed(o.Seed);
        Tensor anchorOnDevice, pattern;
        using (NewDisposeScope())                                           // frees the conversions' temporaries
        {
            anchorOnDevice = anchor.to_type(ScalarType.Float32).to(device).DetachFromDisposeScope();
            using var initial = PatchTrigger.Initial(o, c);
            pattern = initial.Pattern.to(device).clone().DetachFromDisposeScope();
        }
        using var anchorDev = anchorOnDevice;
        try
        {
            for (int step = 0; step < o.Steps; step++)
            {
                cancel.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var idx = randint(0, n, new long[] { o.BatchSize }, generator: gen);
                var x = trainImages.index_select(0, idx.to(trainImages.device)).to(device);
                var (next, loss) = StepBatched(surrogate, x, pattern, anchorDev, o.BetaAt(step), o.Alpha);
                if (!double.IsFinite(loss))
                    throw new NumericalException($"trigger loss became {loss} at step {step + 1}; check the surrogate model and the images");
                pattern.Dispose();
                pattern = next.DetachFromDisposeScope();
                progress?.Invoke(step + 1, loss);
            }
            var result = new PatchTrigger(pattern.cpu());
            if (!ReferenceEquals(result.Pattern, pattern)) pattern.Dispose();
            return result;
        }
        catch
        {
            pattern.Dispose();
            throw;
        }
        finally
        {
            if (wasTraining) surrogate.train();
        }
    }

    /// <summary>
    /// Mean trigger loss <c>-(1/K) &lt;tanh(beta z(x with patch)), h_a&gt;</c> over <paramref name="images"/>, without
    /// gradients (eval mode for the call). For progress reports and tests.
    /// </summary>
    public static double MeanLoss(HashModel surrogate, Tensor images, Tensor pattern, Tensor anchor, double beta = 1.0)
    {
        bool wasTraining = surrogate.training;
        surrogate.eval();
        try
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var device = surrogate.parameters().First().device;
            var x = PatchTrigger.PasteDifferentiable(images.to(device), pattern.to(device));
            var u = surrogate.Continuous(x, beta);
            var k = u.shape[1];
            return u.matmul(anchor.to_type(ScalarType.Float32).to(device)).neg().div(k).mean().item<float>();
        }
        finally
        {
            if (wasTraining) surrogate.train();
        }
    }

    /// <summary>
    /// One step on a batch, batched: every image gets its own copy of the patch (a [B, C, P, P] leaf), one backward pass
    /// of the summed loss gives all per-image gradients. Returns the new pattern [C, P, P] (clamped to 0..1) and the mean
    /// loss before the move. The surrogate must already be in eval mode.
    /// </summary>
    internal static (Tensor Pattern, double MeanLoss) StepBatched(HashModel surrogate, Tensor images, Tensor pattern, Tensor anchor,
        double beta, double alpha)
    {
        using var scope = NewDisposeScope();
        long b = images.shape[0];
        var leaf = pattern.detach().unsqueeze(0).repeat(b, 1, 1, 1).requires_grad_(true);
        var x = PatchTrigger.PasteDifferentiable(images, leaf);
        var u = surrogate.Continuous(x, beta);
        var perImage = u.matmul(anchor).neg().div(u.shape[1]);            // [B]
        var total = perImage.sum();
        var grad = torch.autograd.grad(new[] { total }, new[] { leaf })[0]; // [B, C, P, P]
        var norms = grad.flatten(1).pow(2).sum(1).sqrt().add(NormEpsilon).view(b, 1, 1, 1);
        var direction = grad.div(norms).mean(new long[] { 0 });
        var next = pattern.detach().sub(direction.mul(alpha)).clamp(0, 1);
        double loss = perImage.detach().mean().item<float>();
        return (next.MoveToOuterDisposeScope(), loss);
    }

    /// <summary>
    /// The same step as <see cref="StepBatched"/> computed one image at a time (one forward and backward per image).
    /// Slow; kept for tests (the batched step must agree with it) and benchmarks.
    /// </summary>
    internal static (Tensor Pattern, double MeanLoss) StepPerImage(HashModel surrogate, Tensor images, Tensor pattern, Tensor anchor,
        double beta, double alpha)
    {
        using var scope = NewDisposeScope();
        long b = images.shape[0];
        var sum = zeros_like(pattern);
        double lossSum = 0;
        for (long i = 0; i < b; i++)
        {
            using var inner = NewDisposeScope();
            var leaf = pattern.detach().clone().requires_grad_(true);
            var x = PatchTrigger.PasteDifferentiable(images.narrow(0, i, 1), leaf);
            var u = surrogate.Continuous(x, beta);
            var loss = u.matmul(anchor).neg().div(u.shape[1]).sum();
            var grad = torch.autograd.grad(new[] { loss }, new[] { leaf })[0];
            sum.add_(grad.div(grad.pow(2).sum().sqrt().add(NormEpsilon)));
            lossSum += loss.item<float>();
        }
        var next = pattern.detach().sub(sum.div(b).mul(alpha)).clamp(0, 1);
        return (next.MoveToOuterDisposeScope(), lossSum / b);
    }

    private static void CheckAnchor(HashModel surrogate, Tensor anchor)
    {
        if (anchor.dim() != 1 || anchor.shape[0] != surrogate.Spec.Bits)
            throw new ArgumentException($"the anchor code must be [K] with K={surrogate.Spec.Bits}, got [{string.Join(",", anchor.shape)}]");
    }
}
