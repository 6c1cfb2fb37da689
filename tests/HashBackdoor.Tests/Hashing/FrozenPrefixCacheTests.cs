using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Hashing;

/// <summary>
/// The frozen-prefix cache (docs/pretrained.md): a victim trained through it is the victim trained without it (same
/// codes), poisoned and triggered rows never read it (checked by poisoning the cache itself: a row that read it would
/// carry NaN), and a model whose prefix weights differ is never served from it.
/// </summary>
[Collection("torch-training")]
public class FrozenPrefixCacheTests
{
    private static readonly HashModelSpec Spec = new("resnet18", 16, 1, 12, 12, 3) { Layout = "torchvision", Normalization = "imagenet", InputSize = 32 };

    /// <summary>A model with the weights of seed <paramref name="seed"/> (every model of one seed shares its prefix, as
    /// every model of a pretrained experiment shares the public weights).</summary>
    private static HashModel Model(long seed)
    {
        TorchRuntime.Seed(seed);
        return new HashModel(Spec);
    }

    /// <summary>Same shape and the same values, bit for bit.</summary>
    private static bool Same(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        using var eq = a.eq(b);
        using var all = eq.all();
        return all.item<bool>();
    }

    private static HashTrainerOptions Options(int freeze) => new()
    {
        Loss = "csq", Epochs = 2, BatchSize = 8, LearningRate = 1e-2, BackboneLrScale = 0.1, FreezeStages = freeze, Augmentation = AugmentationKind.Flip, Seed = 3,
    };

    /// <summary>Rows 0..3 replaced by fixed poisoned tensors (not augmented); rows 4..5 get a 3x3 white patch pasted after
    /// augmentation (the Tri baseline's way). 24 rows, batch 8: every row is seen once per epoch.</summary>
    private static (Tensor Clean, Tensor Poisoned, Tensor Labels, TrainingSetPlan Plan, long[] Touched) PoisonedSet()
    {
        var (x, y) = TinyData.Make(perClass: 8, classes: 3, size: 12);
        var poisoned = x.clone();
        poisoned[TensorIndex.Slice(0, 4)] = poisoned[TensorIndex.Slice(0, 4)].add(0.03).clamp(0, 1);
        var augmentable = ones(24, dtype: ScalarType.Bool);
        augmentable[TensorIndex.Slice(0, 4)] = false;
        var plan = new TrainingSetPlan
        {
            Augmentable = augmentable,
            AfterAugmentation = (batch, idx) =>
            {
                var mask = idx.eq(4).logical_or(idx.eq(5)).view(-1, 1, 1, 1);
                var patched = batch.clone();
                patched[TensorIndex.Ellipsis, TensorIndex.Slice(9, 12), TensorIndex.Slice(9, 12)] = 1f;
                return where(mask, patched, batch);
            },
        };
        return (x, poisoned, y, plan, new long[] { 0, 1, 2, 3, 4, 5 });
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void AVictimTrainedThroughTheCacheEqualsOneTrainedWithout(int freeze)
    {
        var (clean, poisoned, labels, plan, touched) = PoisonedSet();
        using var _c = clean;
        using var _p = poisoned;
        using var _l = labels;
        using var prototype = Model(11);
        using var cache = FrozenPrefixCache.Create(prototype, freeze, "flip")!;
        cache.Add(prototype, clean, withFlips: true);

        using var whole = Model(11);
        new HashTrainer(Options(freeze)).Train(whole, poisoned, labels, plan);
        using var cached = Model(11);
        new HashTrainer(Options(freeze)).Train(cached, poisoned, labels, plan, prefix: cache);

        // Every clean row of every batch read the cache; exactly the poisoned and triggered rows did not.
        long epochs = Options(freeze).Epochs;
        Assert.Equal(epochs * (24 - touched.Length), cache.RowsFromCache);
        Assert.Equal(epochs * touched.Length, cache.RowsComputed);

        using var other = Model(11);
        new HashTrainer(Options(freeze) with { Seed = 4 }).Train(other, poisoned, labels, plan, prefix: cache);
        whole.eval();
        cached.eval();
        other.eval();
        using var _g = no_grad();
        using var zw = whole.forward(clean);
        using var zc = cached.forward(clean);
        double largest = zw.sub(zc).abs().max().item<float>();
        // Same operations on the same numbers: bit for bit (measured at 1 and 2 torch threads). The one way rounding
        // could differ, a lone live row (libtorch takes another convolution kernel for a batch of one: 5e-7 apart), is
        // computed as a pair (FrozenPrefixCache.PrefixOfRows); without that this test measured 6.8e-3 here (freeze 2,
        // Adam amplifies the last-bit differences over the steps).
        Assert.True(largest == 0, $"largest pre-activation difference {largest}");
        using var cw = zw.sign();
        using var cc = zc.sign();
        Assert.True(Same(cw, cc), "codes differ between the cached and the whole-network victim");
        // The comparison can fail: a victim trained with another batch order differs by far more.
        using var zo = other.forward(clean);
        Assert.True(zw.sub(zo).abs().max().item<float>() > 1e-3);
    }

    [Fact]
    public void PoisonedAndTriggeredRowsNeverReadTheCache()
    {
        var (clean, labels) = TinyData.Make(perClass: 4, classes: 3, size: 12);
        using var _c = clean;
        using var _l = labels;
        using var model = Model(5);
        model.eval();
        using var cache = FrozenPrefixCache.Create(model, 2, "flip")!;
        var entry = cache.Add(model, clean, withFlips: true);
        // Poison the cache itself: any row that reads it comes out NaN.
        entry.Plain.fill_(double.NaN);
        entry.Flipped!.fill_(double.NaN);

        using var batch = clean.index_select(0, arange(6L));
        batch[1] = batch[1].flip(2);                                      // row 1: the flipped clean image (may read the flipped entry)
        batch[2] = batch[2].add(1.0 / 255).clamp(0, 1);                   // row 2: one grey level of perturbation
        batch[3, TensorIndex.Ellipsis, TensorIndex.Slice(9, 12), TensorIndex.Slice(9, 12)] = 1f; // row 3: a trigger
        batch[4, 0, 0, 0] = batch[4, 0, 0, 0] + 1e-6f;                    // row 4: a single pixel nudged
        using var h = cache.PrefixOf(model, entry, batch, arange(6L));
        using var nan = h.isnan().flatten(1).all(1);
        Assert.Equal(new[] { true, true, false, false, false, true }, nan.data<bool>().ToArray());
        // The rows that did not read it are exactly the whole-network prefix of those pixels.
        using var live = no_grad();
        using var rows = tensor(new long[] { 2, 3, 4 });
        using var expected = model.ForwardPrefix(batch.index_select(0, rows), 2);
        using var got = h.index_select(0, rows);
        Assert.True(Same(got, expected));

        // Encoding: a triggered set (transform) never reads it; the clean set does.
        using var triggered = HashEncoder.Encode(model, clean, 5, x => { var y = x.clone(); y[TensorIndex.Ellipsis, TensorIndex.Slice(9, 12), TensorIndex.Slice(9, 12)] = 1f; return y; }, null, cache);
        Assert.False(triggered.isnan().any().item<bool>());
        long before = cache.RowsFromCache;
        using var fromCache = HashEncoder.Encode(model, clean, 5, null, null, cache);
        Assert.Equal(before + clean.shape[0], cache.RowsFromCache);
    }

    [Fact]
    public void EncodingThroughTheCacheGivesTheWholeNetworksCodes()
    {
        var (x, _) = TinyData.Make(perClass: 5, classes: 3, size: 12);
        using var _x = x;
        using var model = Model(8);
        using var cache = FrozenPrefixCache.Create(model, 3, "none")!;
        cache.Add(model, x, withFlips: false);
        using var whole = HashEncoder.Encode(model, x, 4);
        using var cached = HashEncoder.Encode(model, x, 4, null, null, cache);
        Assert.Equal(15, cache.RowsFromCache);
        Assert.True(Same(whole, cached));
        // A sub-set is not the cached set: it goes through the whole network.
        using var part = x.narrow(0, 0, 7);
        using var partCodes = HashEncoder.Encode(model, part, 4, null, null, cache);
        Assert.Equal(15, cache.RowsFromCache);
    }

    [Fact]
    public void AModelWithOtherPrefixWeightsIsNeverServed()
    {
        var (x, y) = TinyData.Make(perClass: 8, classes: 3, size: 12);
        using var prototype = Model(11);
        using var cache = FrozenPrefixCache.Create(prototype, 2, "flip")!;
        cache.Add(prototype, x, withFlips: true);
        using var same = Model(11);
        using var other = Model(12);
        Assert.True(cache.Matches(same));
        Assert.False(cache.Matches(other));
        // One BatchNorm statistic of the stem nudged is enough to refuse it.
        using (no_grad()) same.BackboneStages[0].Modules[1].named_buffers().First(b => b.Item1 == "running_mean").Item2.add_(1e-6);
        Assert.False(cache.Matches(same));
        // Training with the cache offered reads nothing from it, and cached stages that are not frozen are not served.
        new HashTrainer(Options(2)).Train(other, x, y, prefix: cache);
        using var notFrozen = Model(11);
        new HashTrainer(Options(1)).Train(notFrozen, x, y, prefix: cache);
        Assert.Equal(0, cache.RowsFromCache);
        // A shifting augmentation cannot use a cache, and a backbone that cannot be split gets none.
        Assert.Null(FrozenPrefixCache.Create(prototype, 2, "flip-shift"));
        using var small = new HashModel(new HashModelSpec("small-cnn", 16, 1, 12, 12, 3));
        Assert.Null(FrozenPrefixCache.Create(small, 2, "flip"));
    }
}
