using System.Globalization;
using HashBackdoor.Experiments.Graph;

namespace HashBackdoor.Experiments.Sharding;

/// <summary>Shard <see cref="Index"/> of <see cref="Count"/> (<c>--shard I/N</c>, I from 0): it owns the work units whose
/// position in <see cref="ExperimentGraph.Work"/> is I modulo N.</summary>
public readonly record struct ShardSpec(int Index, int Count)
{
    /// <summary>Parses "I/N" with 0 &lt;= I &lt; N (<see cref="UsageException"/> naming <c>--shard</c> otherwise).</summary>
    public static ShardSpec Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2
            || !int.TryParse(parts[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int i)
            || !int.TryParse(parts[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            throw new UsageException($"shard {text}: expected I/N with 0 <= I < N (e.g. 0/10, or $SLURM_ARRAY_TASK_ID/10)");
        if (n < 1) throw new UsageException($"shard {text}: N must be at least 1");
        if (i >= n) throw new UsageException($"shard {text}: I must be below N (shards are numbered 0..{n - 1})");
        return new ShardSpec(i, n);
    }

    /// <summary>Whether this shard owns the unit at <paramref name="position"/> of the grid.</summary>
    public bool Owns(int position) => position % Count == Index;

    public override string ToString() => $"{Index}/{Count}";
}
