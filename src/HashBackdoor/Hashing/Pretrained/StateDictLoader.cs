using static TorchSharp.torch;

namespace HashBackdoor.Hashing.Pretrained;

/// <summary>
/// Copies named tensors into a module by name after checking all of them: every tensor of the module's state dict must
/// be in the source with the same shape (num_batches_tracked may be absent: old torchvision files lack it). Source
/// tensors the module does not have (a classifier the hashing model drops, such as ResNet's fc.*) are left out.
/// Nothing is copied unless everything fits; a misfit is one <see cref="DataException"/> line listing each missing or
/// mismatched tensor with its expected and found shape.
/// </summary>
public static class StateDictLoader
{
    private const int MaxListed = 12;

    /// <summary>Loads <paramref name="source"/> into <paramref name="target"/>; returns the names of the source tensors
    /// that were not used. <paramref name="origin"/> names the file in errors; <paramref name="what"/> describes the target.</summary>
    public static IReadOnlyList<string> Apply(nn.Module target, IReadOnlyDictionary<string, Tensor> source, string origin, string what)
    {
        source = StripPrefix(source, "module."); // saved from DataParallel
        var expected = target.state_dict();
        var problems = new List<string>();
        int matched = 0;
        foreach (var (name, t) in expected)
        {
            if (!source.TryGetValue(name, out var s))
            {
                if (!IsOptional(name)) problems.Add($"{name} missing (expected {Shape(t)})");
                continue;
            }
            matched++;
            if (!s.shape.SequenceEqual(t.shape)) problems.Add($"{name} expected {Shape(t)}, found {Shape(s)}");
        }
        if (problems.Count > 0)
        {
            string listed = string.Join("; ", problems.Take(MaxListed)) + (problems.Count > MaxListed ? $"; and {problems.Count - MaxListed} more" : "");
            string hint = matched == 0 ? $" (no tensor name matched; expected names such as {expected.Keys.First()})" : "";
            throw new DataException(origin, $"{problems.Count} of {expected.Count} tensors of {what} are missing or mismatched: {listed}{hint}");
        }
        using (no_grad())
        {
            foreach (var (name, t) in expected)
                if (source.TryGetValue(name, out var s)) t.copy_(s);
        }
        return source.Keys.Where(k => !expected.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
    }

    /// <summary>"[64, 3, 7, 7]".</summary>
    internal static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    private static bool IsOptional(string name) => name.EndsWith(".num_batches_tracked", StringComparison.Ordinal);

    private static IReadOnlyDictionary<string, Tensor> StripPrefix(IReadOnlyDictionary<string, Tensor> source, string prefix)
    {
        if (source.Count == 0 || !source.Keys.All(k => k.StartsWith(prefix, StringComparison.Ordinal))) return source;
        return source.ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
    }
}
