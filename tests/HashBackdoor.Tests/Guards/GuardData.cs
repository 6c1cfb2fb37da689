using HashBackdoor.Attacks;
using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Guards;

/// <summary>The guards share the Attacks tests' sequential collection: native-heavy work on 2 cores.</summary>
internal static class GuardData
{
    /// <summary>A 1x4x4 trigger whose 16 values 0, 1/15, ..., 1 are all different: not left-right or up-down symmetric,
    /// so a flipped or misplaced patch cannot pass for the real one.</summary>
    public static PatchTrigger AsymmetricTrigger(int channels = 1) =>
        new(tensor(Enumerable.Range(0, channels * 16).Select(i => (i % 16) / 15f).ToArray(), new long[] { channels, 4, 4 }));

    /// <summary>Perturbation settings whose steps overshoot the budget: 6 rounds x 3/255 = 18/255 &gt; eps = 4/255, so the
    /// L-inf clamp is reached (and must hold) on every pixel whose gradient sign is stable.</summary>
    public static readonly PerturbationOptions Overshooting = new()
    {
        Epsilon = 4.0 / 255, StepSize = 3.0 / 255, Rounds = 6, Lambda = 0.8, GroupSize = 2,
    };

    /// <summary>Rows of <paramref name="images"/> flattened: float [N, D].</summary>
    public static Tensor Flat(Tensor images) => images.reshape(images.shape[0], -1);

    /// <summary>Bool [M, N]: row m of <paramref name="a"/> equals row n of <paramref name="b"/> exactly.</summary>
    public static Tensor ExactMatches(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        var fa = Flat(a).unsqueeze(1);
        var fb = Flat(b).unsqueeze(0);
        return fa.eq(fb).all(2).MoveToOuterDisposeScope();
    }

    /// <summary>For every row of <paramref name="seen"/> [M, C, H, W]: the index of the row of <paramref name="stored"/>
    /// [N, C, H, W] whose top <paramref name="topRows"/> pixel rows it equals as stored (flipped false) or mirrored left-right
    /// (flipped true). Throws when a row matches none or several (the stored rows must be distinct and asymmetric there).</summary>
    public static (long Source, bool Flipped)[] Identify(Tensor seen, Tensor stored, int topRows)
    {
        using var scope = NewDisposeScope();
        var seenTop = seen.narrow(2, 0, topRows);
        var plain = ExactMatches(seenTop, stored.narrow(2, 0, topRows));
        var mirrored = ExactMatches(seenTop, stored.flip(3).narrow(2, 0, topRows));
        var result = new (long, bool)[seen.shape[0]];
        for (long m = 0; m < seen.shape[0]; m++)
        {
            long[] p = plain[m].nonzero().view(-1).data<long>().ToArray();
            long[] f = mirrored[m].nonzero().view(-1).data<long>().ToArray();
            if (p.Length + f.Length != 1)
                throw new InvalidOperationException($"seen row {m} matches {p.Length} stored rows and {f.Length} mirrored ones; expected exactly one");
            result[m] = p.Length == 1 ? (p[0], false) : (f[0], true);
        }
        return result;
    }

    /// <summary>An untrained small CNN for the trainer guards (weights from torch's global generator, seeded here).</summary>
    public static HashModel Victim(long seed = 0)
    {
        manual_seed(seed);
        return new HashModel(new HashModelSpec("small-cnn", 16, 1, 12, 12, 3));
    }

    /// <summary>Trainer options with augmentation on (flip by default), batch 5 (the 25-image guard set makes 5 full
    /// batches, so every row is seen once per epoch).</summary>
    public static HashTrainerOptions Trainer(string augmentation = "flip", int epochs = 3, long seed = 3) => new()
    {
        Loss = "pairwise-k", Epochs = epochs, BatchSize = 5, LearningRate = 1e-3, Augmentation = ConfigEnumConverter.Parse<AugmentationKind>(augmentation, "augmentation"), Seed = seed,
    };
}
