using static TorchSharp.torch;

namespace HashBackdoor.Attacks.TestTime;

/// <summary>
/// DHTA (Bai et al., ECCV 2020): every query is pushed towards the anchor code of the target class, the component-wise
/// majority vote of the model's codes of the training images labelled with the target class alone
/// (<see cref="AnchorCode"/>, the same anchor CIBA uses), by <see cref="TargetedPerturbation"/>.
/// </summary>
/// <remarks>Departure: the reference votes over a random subset of 9 target-class database codes per query; here the
/// vote is over all target-class training codes (the anchor of method.md section 3), deterministic and shared by all
/// queries (docs/attacks.md).</remarks>
public sealed class DhtaAttack : ITestTimeAttack
{
    /// <inheritdoc/>
    public string Name => "dhta";

    /// <inheritdoc/>
    public TestTimeAttackResult Attack(Tensor queries, TestTimeAttackContext context, CancellationToken cancel = default)
    {
        context.Validate();
        Tensor? targets = null;
        try
        {
            using (var scope = NewDisposeScope())
            {
                var anchor = AnchorCode.Compute(context.TrainCodes.cpu(), context.TrainLabels.cpu(), context.TargetClass);
                targets = anchor.unsqueeze(0).expand(queries.shape[0], -1).contiguous().MoveToOuterDisposeScope();
            }
            var (adv, trace) = new TargetedPerturbation(context.Options).Run(context.Model, queries, targets, context.Progress, cancel);
            return new TestTimeAttackResult(adv, targets, Array.Empty<long>(), trace);
        }
        catch
        {
            targets?.Dispose();
            throw;
        }
    }
}
