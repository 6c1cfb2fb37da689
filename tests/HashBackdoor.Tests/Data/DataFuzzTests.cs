using System.Buffers.Binary;
using System.Diagnostics;
using HashBackdoor.Data;
using Xunit.Abstractions;
using static HashBackdoor.Tests.Data.DataTestFiles;

namespace HashBackdoor.Tests.Data;

/// <summary>
/// Seeded mutation fuzzing of the binary readers: every damaged input must either load into a well-formed dataset
/// or fail with a <see cref="DataException"/>; any other exception type is a bug.
/// </summary>
public class DataFuzzTests(ITestOutputHelper output)
{
    const int Rounds = 300;

    enum Op { Flip, Truncate, Insert, HeaderInt, InsertRecord }

    static byte[] Mutate(Random rng, byte[] src, Op op, bool allowHeaderInt)
    {
        var b = new List<byte>(src);
        switch (op)
        {
            case Op.Flip:
                int flips = rng.Next(1, 5);
                for (int i = 0; i < flips && b.Count > 0; i++) b[rng.Next(b.Count)] ^= (byte)rng.Next(1, 256);
                break;
            case Op.Truncate:
                if (b.Count > 0)
                {
                    int at = rng.Next(b.Count); // keep [0, at): always loses at least the last byte
                    b.RemoveRange(at, b.Count - at);
                }
                break;
            case Op.Insert:
                var extra = new byte[rng.Next(1, 9)];
                rng.NextBytes(extra);
                b.InsertRange(rng.Next(b.Count + 1), extra);
                break;
            case Op.InsertRecord:
                var rec = new byte[3073];
                rng.NextBytes(rec);
                rec[0] = (byte)rng.Next(12);
                b.InsertRange(rng.Next(b.Count / 3073 + 1) * 3073, rec);
                break;
            case Op.HeaderInt when allowHeaderInt && b.Count >= 16:
                var arr = b.ToArray();
                int off = 4 * rng.Next(4);
                int value = rng.Next(6) switch
                {
                    0 => rng.Next(),
                    1 => -rng.Next(),
                    2 => int.MaxValue,
                    3 => rng.Next(0, 8),
                    4 => 0x00000800 | rng.Next(256),
                    _ => BinaryPrimitives.ReadInt32BigEndian(arr.AsSpan(off)) + rng.Next(-2, 3),
                };
                BinaryPrimitives.WriteInt32BigEndian(arr.AsSpan(off), value);
                return arr;
        }
        return b.ToArray();
    }

    static void AssertWellFormed(ImageDataset d, int channels)
    {
        Assert.True(d.Count > 0);
        Assert.Equal(channels, d.Channels);
        Assert.Equal(10, d.NumClasses);
        Assert.InRange(d.Images.min().item<float>(), 0f, 1f);
        Assert.InRange(d.Images.max().item<float>(), 0f, 1f);
        Assert.Equal(d.Count, d.SingleLabels().Length); // throws unless exactly one label per row
    }

    static void Expect(Action load, string what)
    {
        try { load(); }
        catch (DataException e) { Assert.DoesNotContain('\n', e.Message); }
        catch (Exception e) { Assert.Fail($"{what}: {e.GetType().Name}: {e.Message}"); }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MutatedIdxPairsLoadOrFailWithDataException(bool gz)
    {
        var sw = Stopwatch.StartNew();
        var rng = new Random(gz ? 1234 : 4321);
        using var dir = new TempDir();
        int ok = 0;
        for (int i = 0; i < Rounds; i++)
        {
            var op = (Op)rng.Next(4);
            bool mutateImages = rng.Next(2) == 0;
            byte[] img = ThreeImages(), lab = ThreeLabels();
            ref byte[] target = ref mutateImages ? ref img : ref lab;
            if (op == Op.HeaderInt) target = Mutate(rng, target, op, true);
            if (gz) { img = Gzip(img); lab = Gzip(lab); }
            if (op != Op.HeaderInt)
            {
                ref byte[] t2 = ref mutateImages ? ref img : ref lab;
                t2 = Mutate(rng, t2, op, false);
            }
            var ip = dir.Write($"i{i}", img);
            var lp = dir.Write($"l{i}", lab);
            Expect(() =>
            {
                using var d = IdxReader.Load(ip, lp);
                AssertWellFormed(d, 1);
                ok++;
            }, $"round {i} ({op}, {(mutateImages ? "images" : "labels")}, gz={gz})");
        }
        output.WriteLine($"{ok} of {Rounds} mutated inputs loaded, the rest failed with DataException");
        output.WriteLine($"{ok} of {Rounds} mutated inputs loaded, the rest failed with DataException");
        Assert.InRange(ok, 1, Rounds - 1); // both outcomes occur
        Assert.True(sw.Elapsed.TotalSeconds < 10, $"fuzz took {sw.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void MutatedCifarBatchesLoadOrFailWithDataException()
    {
        var sw = Stopwatch.StartNew();
        var rng = new Random(99);
        using var dir = new TempDir();
        var good = Cifar(1, 2, 3);
        int ok = 0;
        var ops = new[] { Op.Flip, Op.Truncate, Op.Insert, Op.InsertRecord };
        for (int i = 0; i < Rounds; i++)
        {
            var op = ops[rng.Next(ops.Length)];
            // Flip bytes mostly in the label positions, where they matter.
            byte[] bytes = good;
            if (op == Op.Flip && rng.Next(2) == 0)
            {
                bytes = (byte[])good.Clone();
                bytes[3073 * rng.Next(3)] = (byte)rng.Next(256);
            }
            else bytes = Mutate(rng, good, op, false);
            var f = dir.Write($"b{i}.bin", bytes);
            Expect(() =>
            {
                using var d = Cifar10Reader.LoadBatches(new[] { f });
                AssertWellFormed(d, 3);
                Assert.Equal(new long[] { 32, 32 }, d.Images.shape[2..]);
                ok++;
            }, $"round {i} ({op})");
        }
        output.WriteLine($"{ok} of {Rounds} mutated inputs loaded, the rest failed with DataException");
        Assert.InRange(ok, 1, Rounds - 1);
        Assert.True(sw.Elapsed.TotalSeconds < 10, $"fuzz took {sw.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void MutatedListFilesParseOrFailWithDataException()
    {
        var rng = new Random(7);
        using var dir = new TempDir();
        var good = System.Text.Encoding.UTF8.GetBytes("a/1.png 1 0 1\na/2.png 0 1 0\n\nb/3.png 0 0 1\n");
        int ok = 0;
        for (int i = 0; i < Rounds; i++)
        {
            var f = dir.Write($"l{i}.txt", Mutate(rng, good, (Op)rng.Next(3), false));
            Expect(() =>
            {
                var e = ListFileReader.Parse(f);
                Assert.Equal(e.Paths.Count * e.NumClasses, e.Labels.Length);
                Assert.All(e.Labels, v => Assert.InRange(v, (byte)0, (byte)1));
                ok++;
            }, $"round {i}");
        }
        output.WriteLine($"{ok} of {Rounds} mutated inputs loaded, the rest failed with DataException");
        Assert.InRange(ok, 1, Rounds - 1);
    }
}
