using HashBackdoor.Retrieval;

namespace HashBackdoor.Experiments;

/// <summary>
/// The codes and labels <c>hashbd attack-queries</c> saves beside attack.json, so that every figure of it can be
/// recomputed (<c>hashbd rescore</c>) or checked outside the toolkit: the model's database codes and labels, and the
/// attacked images' codes before and after the attack with their own labels (uint8 .npy, FAISS binary layout for codes,
/// multi-hot for labels).
/// </summary>
/// <param name="Database">The model's database codes.</param>
/// <param name="DatabaseLabels">The database's label sets.</param>
/// <param name="Clean">Codes of the attacked images before the attack.</param>
/// <param name="Adversarial">Codes of the same images after the attack.</param>
/// <param name="QueryLabels">The attacked images' own label sets.</param>
internal sealed record TestTimeCodes(BinaryCodes Database, LabelSets DatabaseLabels, BinaryCodes Clean, BinaryCodes Adversarial, LabelSets QueryLabels)
{
    /// <summary>File names in the output folder.</summary>
    public const string DatabaseCodesName = "database_codes.npy", DatabaseLabelsName = "database_labels.npy",
        CleanCodesName = "clean_query_codes.npy", AdversarialCodesName = "adversarial_query_codes.npy", QueryLabelsName = "query_labels.npy";

    /// <summary>Writes the five files to <paramref name="dir"/> (each atomically).</summary>
    public static void Write(string dir, EncodedSet database, BinaryCodes clean, BinaryCodes adversarial, byte[] queryLabelBytes)
    {
        Directory.CreateDirectory(dir);
        RunFolder.WriteCodes(Path.Combine(dir, DatabaseCodesName), database.Codes);
        NpyFile.Write(Path.Combine(dir, DatabaseLabelsName), database.LabelBytes, database.Codes.Count, database.Classes);
        RunFolder.WriteCodes(Path.Combine(dir, CleanCodesName), clean);
        RunFolder.WriteCodes(Path.Combine(dir, AdversarialCodesName), adversarial);
        NpyFile.Write(Path.Combine(dir, QueryLabelsName), queryLabelBytes, clean.Count, database.Classes);
    }

    /// <summary>Reads the five files from <paramref name="dir"/>.</summary>
    /// <exception cref="DataException">A file is missing (one line naming it), damaged, or the sizes disagree.</exception>
    public static TestTimeCodes Read(string dir)
    {
        BinaryCodes Codes(string name) => RunFolder.ReadCodes(Path.Combine(dir, name))
            ?? throw new DataException(Path.Combine(dir, name), "missing: written by hashbd attack-queries since tie-aware metrics; re-run the attack to get it");
        LabelSets Labels(string name) => (RunFolder.ReadLabels(Path.Combine(dir, name))
            ?? throw new DataException(Path.Combine(dir, name), "missing: written by hashbd attack-queries since tie-aware metrics; re-run the attack to get it")).Sets;
        var codes = new TestTimeCodes(Codes(DatabaseCodesName), Labels(DatabaseLabelsName), Codes(CleanCodesName), Codes(AdversarialCodesName), Labels(QueryLabelsName));
        if (codes.Database.Count != codes.DatabaseLabels.Count)
            throw new DataException(Path.Combine(dir, DatabaseLabelsName), $"lists {codes.DatabaseLabels.Count} images, {DatabaseCodesName} holds {codes.Database.Count}");
        if (codes.Clean.Count != codes.Adversarial.Count || codes.Clean.Count != codes.QueryLabels.Count)
            throw new DataException(Path.Combine(dir, AdversarialCodesName), $"holds {codes.Adversarial.Count} codes; {CleanCodesName} {codes.Clean.Count}, {QueryLabelsName} {codes.QueryLabels.Count}");
        return codes;
    }
}
