using HashBackdoor.Attacks;
using HashBackdoor.Hashing;
using HashBackdoor.Tests.Attacks;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Guards;

/// <summary>
/// Guards of what the victim trains on, observed where it matters: the batches the model's forward receives inside the
/// real <see cref="HashTrainer"/>, with augmentation on (<see cref="ForwardRecorder"/>).
/// <list type="bullet">
/// <item>Fixed poisons (tri+noise, tri+adv, ciba) reach the model exactly as crafted, every epoch, although the other rows
/// are flipped (and shifted): the trainer honours the plan's <c>Augmentable</c> mask.</item>
/// <item>Tri: the trigger sits in the bottom-right corner of every poisoned row the model sees, pasted after augmentation
/// (the rest of the row flipped or not), and on no other row.</item>
/// <item>The batch order is a function of the trainer seed alone: the victim (poisoned set, plan) sees its rows in the
/// same order as the clean model of its seed; an independent surrogate's seed gives another order.</item>
/// </list>
/// The guard set is 25 distinct random 12x12 images (classes 0, 1, 2 cycling, one multi-label image) in batches of 5.
/// </summary>
[Collection("Attacks")]
public class VictimTrainingGuards
{
    private const int Epochs = 3;

    private static PoisonContext Context(PatchTrigger trigger, HashModel surrogate, int count = 4) =>
        new(new PoisonOptions { TargetClass = 1, Count = count, Seed = 5, Perturbation = GuardData.Overshooting }, trigger, surrogate);

    /// <summary>Trains a fresh victim on <paramref name="images"/> with <paramref name="plan"/> and returns every row its
    /// forward saw, in order.</summary>
    private static Tensor TrainAndRecord(Tensor images, Tensor labels, TrainingSetPlan? plan, HashTrainerOptions options)
    {
        using var model = GuardData.Victim();
        using var recorder = ForwardRecorder.Attach(model);
        new HashTrainer(options).Train(model, images, labels, plan);
        Assert.Equal(options.Epochs * images.shape[0], recorder.Batches.Sum(b => b.shape[0]));
        return recorder.AllRows();
    }

    [Theory]
    [InlineData("tri+noise", "flip")]
    [InlineData("tri+adv", "flip")]
    [InlineData("ciba", "flip")]
    [InlineData("ciba", "flip-shift")]
    public void FixedPoisonsReachTheModelExactlyAsCraftedWhileOtherRowsAreAugmented(string attack, string augmentation)
    {
        using var train = AttackTestData.Dataset(perClass: 8);
        using var surrogate = AttackTestData.TinyModel(2);
        using var trigger = GuardData.AsymmetricTrigger();
        using var set = PoisoningAttacks.Create(attack).Poison(train, Context(trigger, surrogate));
        var stored = set.Dataset.Images;
        long n = stored.shape[0];
        long[] poisoned = set.PoisonedIndices;

        // The poisoned rows are not left-right symmetric: a flip would show.
        using (var rows = stored.index_select(0, tensor(poisoned)))
        using (var mirrored = rows.flip(3))
            Assert.All(ExactRowwise(rows, mirrored), s => Assert.False(s));

        using var seen = TrainAndRecord(stored, set.Dataset.Labels, set.Plan, GuardData.Trainer(augmentation, Epochs));
        using var matches = GuardData.ExactMatches(seen, stored);          // [E*n, n]
        long[] exactCount = matches.sum(new long[] { 0 }).data<long>().ToArray();
        foreach (long i in poisoned)
            Assert.True(exactCount[i] == Epochs, $"{attack}/{augmentation}: poisoned row {i} reached the model unchanged {exactCount[i]} of {Epochs} epochs");

        // Augmentation really was on: some clean rows reached the model changed.
        long unchanged = matches.any(1).sum().item<long>();
        Assert.True(unchanged < seen.shape[0] - Epochs, $"only {seen.shape[0] - unchanged} of {seen.shape[0]} rows were augmented");

        if (augmentation == "flip")
        {
            // Nothing else happens to any row: each stored row reaches the model once per epoch, as stored or mirrored.
            var ids = GuardData.Identify(seen, stored, topRows: 12);
            var perRow = ids.GroupBy(t => t.Source).ToDictionary(g => g.Key, g => g.Count());
            for (long i = 0; i < n; i++) Assert.Equal(Epochs, perRow.GetValueOrDefault(i));
            Assert.DoesNotContain(ids, t => poisoned.Contains(t.Source) && t.Flipped);
        }
    }

    [Fact]
    public void TriPastesTheTriggerInTheBottomRightCornerAfterAugmentationOnPoisonedRowsOnly()
    {
        using var train = AttackTestData.Dataset(perClass: 8);
        using var trigger = GuardData.AsymmetricTrigger();
        using var set = new TriggerOnlyAttack().Poison(train, new PoisonContext(
            new PoisonOptions { TargetClass = 1, Count = 6, Seed = 5 }, trigger));
        var stored = set.Dataset.Images;                                     // clean originals for tri
        using var seen = TrainAndRecord(stored, set.Dataset.Labels, set.Plan, GuardData.Trainer("flip", Epochs));
        const int h = 12, w = 12, p = 4;
        var ids = GuardData.Identify(seen, stored, topRows: h - p);          // the top rows never hold the trigger
        int flippedPoisoned = 0, triggered = 0;
        for (int m = 0; m < ids.Length; m++)
        {
            var (source, flipped) = ids[m];
            using var scope = NewDisposeScope();
            var expectedBase = flipped ? stored[source].flip(2) : stored[source];
            var row = seen[m];
            if (set.PoisonedIndices.Contains(source))
            {
                var corner = row.narrow(1, h - p, p).narrow(2, w - p, p);
                Assert.True(AttackTestData.Same(corner, trigger.Pattern), $"seen row {m} (source {source}, flipped {flipped}): the corner is not the trigger");
                var expected = expectedBase.clone();
                expected.narrow(1, h - p, p).narrow(2, w - p, p).copy_(trigger.Pattern);
                Assert.True(AttackTestData.Same(row, expected), $"seen row {m}: outside the corner it is not the augmented original");
                triggered++;
                if (flipped) flippedPoisoned++;
            }
            else
                Assert.True(AttackTestData.Same(row, expectedBase), $"seen row {m} (source {source}) is not a plain (augmented) training row");
        }
        Assert.Equal(Epochs * set.PoisonedIndices.Length, triggered);
        // Pasting before the flip would leave the trigger in the bottom-LEFT corner of these rows.
        Assert.True(flippedPoisoned >= 2, $"only {flippedPoisoned} poisoned rows were flipped; the guard needs some");
    }

    [Fact]
    public void BatchOrderFollowsTheTrainerSeedOnlySoVictimAndCleanModelShareIt()
    {
        using var train = AttackTestData.Dataset(perClass: 8);
        using var surrogate = AttackTestData.TinyModel(2);
        using var trigger = GuardData.AsymmetricTrigger();
        using var set = new CibaAttack().Poison(train, Context(trigger, surrogate));
        var options = GuardData.Trainer("none", epochs: 2, seed: 3);

        long[] Order(Tensor images, Tensor labels, TrainingSetPlan? plan, HashTrainerOptions o)
        {
            using var seen = TrainAndRecord(images, labels, plan, o);
            // Each seen row is identified against the set it was trained from (no augmentation here: rows arrive as stored).
            return GuardData.Identify(seen, images, topRows: 12).Select(t => t.Source).ToArray();
        }

        long[] clean = Order(train.Images, train.Labels, null, options);
        long[] victim = Order(set.Dataset.Images, set.Dataset.Labels, set.Plan, options);
        long[] other = Order(train.Images, train.Labels, null, options with { Seed = options.Seed + 1_000_003 });
        Assert.Equal(clean, victim);
        Assert.NotEqual(clean, other);
        Assert.Equal(Enumerable.Range(0, 25).Select(i => (long)i), clean.Take(25).Order());
    }

    private static bool[] ExactRowwise(Tensor a, Tensor b)
    {
        using var eq = GuardData.Flat(a).eq(GuardData.Flat(b)).all(1);
        return eq.data<bool>().ToArray();
    }
}
