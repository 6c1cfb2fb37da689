namespace HashBackdoor.Data;

/// <summary>
/// The result of <see cref="RetrievalProtocol.Apply"/>: query, training and database sets plus the indices they were
/// taken from. Owns the three datasets.
/// </summary>
public sealed class ProtocolSplit : IDisposable
{
    readonly int[][] _perClass;

    internal ProtocolSplit(string name, string datasetName, ProtocolOptions options, bool singlePool,
        ImageDataset query, ImageDataset train, ImageDataset database, ImageDataset? validation,
        long[] queryIndices, long[] trainIndices, long[] databaseTrainIndices, long[] databaseTestIndices, long[] validationIndices,
        IReadOnlyList<string> classNames, int[][] perClass)
    {
        Name = name;
        DatasetName = datasetName;
        Options = options;
        IsSinglePool = singlePool;
        Query = query;
        Train = train;
        Database = database;
        Validation = validation;
        ValidationIndices = validationIndices;
        QueryIndices = queryIndices;
        TrainIndices = trainIndices;
        DatabaseTrainIndices = databaseTrainIndices;
        DatabaseTestIndices = databaseTestIndices;
        ClassNames = classNames;
        _perClass = perClass;
    }

    /// <summary>Protocol name, e.g. "fashion-mnist/q100-t500".</summary>
    public string Name { get; }

    /// <summary>Name of the source dataset.</summary>
    public string DatasetName { get; }

    /// <summary>The options used (sizes and seed).</summary>
    public ProtocolOptions Options { get; }

    /// <summary>The selection seed.</summary>
    public long Seed => Options.Seed;

    /// <summary>True when queries came from the single pool (no test split).</summary>
    public bool IsSinglePool { get; }

    /// <summary>Query images (QueryPerClass per class), in ascending source order.</summary>
    public ImageDataset Query { get; }

    /// <summary>Training images (TrainPerClass per class), in ascending source order.</summary>
    public ImageDataset Train { get; }

    /// <summary>Database: the training split's images then the test split's non-query images (single pool: the
    /// pool without the queries).</summary>
    public ImageDataset Database { get; }

    /// <summary>Validation queries (<see cref="ProtocolOptions.ValidationPerClass"/> per class, from the training split,
    /// disjoint from query, training and database), in ascending source order; null when the protocol asks for none.</summary>
    public ImageDataset? Validation { get; }

    /// <summary>Indices of the validation images in the training split (the pool), ascending; empty when none.</summary>
    public long[] ValidationIndices { get; }

    /// <summary>Indices of the queries in the test split (single pool: in the pool), ascending.</summary>
    public long[] QueryIndices { get; }

    /// <summary>Indices of the training images in the training split (the pool), ascending.</summary>
    public long[] TrainIndices { get; }

    /// <summary>Indices in the training split of the first database rows, ascending.</summary>
    public long[] DatabaseTrainIndices { get; }

    /// <summary>Indices in the test split of the remaining database rows, ascending (empty for a single pool).</summary>
    public long[] DatabaseTestIndices { get; }

    /// <summary>Class names.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>
    /// Facts for reports, in a fixed order: name, dataset, seed, query_per_class, train_per_class, single_pool,
    /// sizes {query, train, database} and per_class {class name: {query, train, database}} (counted by primary
    /// label). Values are strings, numbers, booleans or nested dictionaries of the same.
    /// </summary>
    public IReadOnlyDictionary<string, object> Describe()
    {
        var perClass = new OrderedDictionary<string, object>();
        for (int k = 0; k < ClassNames.Count; k++)
            perClass[ClassNames[k]] = new OrderedDictionary<string, object>
            {
                ["query"] = _perClass[0][k], ["train"] = _perClass[1][k], ["database"] = _perClass[2][k],
            };
        var d = new OrderedDictionary<string, object>
        {
            ["name"] = Name,
            ["dataset"] = DatasetName,
            ["seed"] = Seed,
            ["query_per_class"] = Options.QueryPerClass,
            ["train_per_class"] = Options.TrainPerClass,
            ["single_pool"] = IsSinglePool,
            ["sizes"] = new OrderedDictionary<string, object>
            {
                ["query"] = Query.Count, ["train"] = Train.Count, ["database"] = Database.Count,
            },
            ["per_class"] = perClass,
        };
        // Only protocols with a validation set name it, so descriptions of the others stay as they were.
        if (Validation is not null)
        {
            d["validation_per_class"] = Options.ValidationPerClass;
            d["validation"] = Validation.Count;
        }
        return d;
    }

    /// <summary>Disposes the query, training and database sets.</summary>
    public void Dispose()
    {
        Query.Dispose();
        Train.Dispose();
        Database.Dispose();
        Validation?.Dispose();
    }
}
