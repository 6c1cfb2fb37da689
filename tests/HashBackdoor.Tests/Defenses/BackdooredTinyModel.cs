using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Defenses;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Defenses;

/// <summary>Defense tests that train share one sequential collection.</summary>
[CollectionDefinition("Defenses", DisableParallelization = true)]
public sealed class DefensesCollection : ICollectionFixture<BackdooredTinyModel> { }

/// <summary>
/// A tiny hashing model (small-cnn, 1x12x12, 16 bits, 3 classes of <see cref="TinyData"/>) with a planted, strong,
/// dirty-label backdoor: 60 training images of classes 1 and 2 carry a white 3x3 patch in the bottom-right corner and
/// are labelled class 0. Trained once for all Defenses tests (about a second).
/// </summary>
public sealed class BackdooredTinyModel : IDisposable
{
    public const int Side = 12, Classes = 3, Target = 0, PatchSize = 3, PerClass = 100;

    public BackdooredTinyModel()
    {
        Trigger = new PatchTrigger(ones(1, PatchSize, PatchSize));
        var (images, labels) = TinyData.Make(PerClass, Classes, Side, seed: 1);
        // Rows i % 3 == 1 or 2 are classes 1 and 2; poison the first 60 of them.
        Poison = Enumerable.Range(0, images.shape[0] is var n ? (int)n : 0).Where(i => i % 3 != 0).Take(60).Select(i => (long)i).ToArray();
        using var idx = tensor(Poison);
        PoisonedImages = Trigger.Paste(images.index_select(0, idx));
        images.index_copy_(0, idx, PoisonedImages);
        labels.index_fill_(0, idx, 0).select(1, Target).index_fill_(0, idx, 1);
        Train = new ImageDataset("tiny+dirty", images, labels);
        Model = new HashModel(new HashModelSpec("small-cnn", 16, 1, Side, Side, Classes));
        TorchRuntime.Seed(3);
        Model = new HashModel(new HashModelSpec("small-cnn", 16, 1, Side, Side, Classes));
        var options = new HashTrainerOptions { Loss = "csq", Epochs = 15, BatchSize = 32, LearningRate = 0.003, Augmentation = AugmentationKind.None, Seed = 3 };
        new HashTrainer(options).Train(Model, Train.Images, Train.Labels);
        Model.eval();
        var (qi, ql) = TinyData.Make(10, Classes, Side, seed: 9);
        Query = new ImageDataset("tiny query", qi, ql);
        var (di, dl) = TinyData.Make(30, Classes, Side, seed: 11);
        Database = new ImageDataset("tiny database", di, dl);
    }

    public PatchTrigger Trigger { get; }
    public long[] Poison { get; }
    public Tensor PoisonedImages { get; }
    public ImageDataset Train { get; }
    public HashModel Model { get; }
    public ImageDataset Query { get; }
    public ImageDataset Database { get; }

    /// <summary>Defense inputs over this model (the training set's poisoned rows are the dirty-label ones).</summary>
    public DefenseInputs Inputs => new()
    {
        Victim = Model, AttackName = "dirty", TargetClass = Target, Train = Train, PoisonIndices = Poison, PoisonedImages = PoisonedImages,
        Placement = PoisonPlacement.Fixed, Trigger = Trigger, Query = Query, Database = Database, TopK = 20, Rule = QueryRule.Skip,
        Trainer = new HashTrainerOptions { Loss = "csq", Epochs = 2, BatchSize = 32, LearningRate = 0.003, Augmentation = AugmentationKind.None, Seed = 3 },
    };

    public void Dispose()
    {
        Trigger.Dispose();
        PoisonedImages.Dispose();
        Train.Dispose();
        Model.Dispose();
        Query.Dispose();
        Database.Dispose();
    }
}
