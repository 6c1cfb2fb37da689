using HashBackdoor.Data;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks.TestTime;

/// <summary>
/// P2P, the point-to-point baseline of DHTA (Bai et al., ECCV 2020): every query is pushed towards the code of one
/// target-class training image, drawn uniformly (with replacement across queries) from the training images labelled
/// with the target class alone by a <see cref="SplitMix64"/> seeded with <see cref="TestTimeAttackOptions.Seed"/>, one
/// draw per query in query order. The chosen rows are returned in <see cref="TestTimeAttackResult.TargetRows"/>.
/// </summary>
public sealed class P2pAttack : ITestTimeAttack
{
    /// <inheritdoc/>
    public string Name => "p2p";

    /// <summary>The training rows P2P targets for <paramref name="queryCount"/> queries: uniform draws from
    /// <paramref name="candidates"/> with <see cref="SplitMix64"/> seeded with <paramref name="seed"/>.</summary>
    public static long[] ChooseRows(IReadOnlyList<long> candidates, int queryCount, long seed)
    {
        if (candidates.Count == 0) throw new ArgumentException("no candidate rows", nameof(candidates));
        var rng = new SplitMix64(seed);
        var rows = new long[queryCount];
        for (int i = 0; i < queryCount; i++) rows[i] = candidates[(int)rng.NextBelow(candidates.Count)];
        return rows;
    }

    /// <inheritdoc/>
    public TestTimeAttackResult Attack(Tensor queries, TestTimeAttackContext context, CancellationToken cancel = default)
    {
        context.Validate();
        long[] candidates;
        using (NewDisposeScope())
            candidates = AttackValidation.TargetRows(context.TrainLabels.cpu(), context.TargetClass).nonzero().view(-1).data<long>().ToArray();
        if (candidates.Length == 0)
            throw new UsageException($"target {context.TargetClass}: no training image is labelled with class {context.TargetClass} alone; P2P needs one");
        var rows = ChooseRows(candidates, (int)queries.shape[0], context.Options.Seed);
        Tensor? targets = null;
        try
        {
            using (NewDisposeScope())
                targets = context.TrainCodes.cpu().index_select(0, tensor(rows, ScalarType.Int64)).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
            var (adv, trace) = new TargetedPerturbation(context.Options).Run(context.Model, queries, targets, context.Progress, cancel);
            return new TestTimeAttackResult(adv, targets, rows, trace);
        }
        catch
        {
            targets?.Dispose();
            throw;
        }
    }
}
