using HashBackdoor.Retrieval;

namespace HashBackdoor.Defenses;

/// <summary>
/// The victim's retrieval state shared by every defense run on the same <see cref="DefenseInputs"/>: its database codes
/// (encoded once, or read from the run folder where the experiment saved them) and its clean mAP@R / t-MAP@R before any
/// defense. The victim is never modified, so these are the same for every defense; computing them once is what makes
/// the attack x defense matrix affordable (the database is the largest set a defense encodes).
/// </summary>
public sealed class VictimRetrieval
{
    private readonly object gate = new();
    private BinaryCodes? databaseCodes;
    private (TieAwareMap Clean, TieAwareMap? Triggered)? scores;

    /// <summary>An empty cache (everything computed on first use).</summary>
    public VictimRetrieval()
    {
    }

    /// <summary>A cache that starts from the victim's database codes (e.g. the run folder's database_codes.npy, written by
    /// the experiment from the same model and database).</summary>
    public VictimRetrieval(BinaryCodes? databaseCodes) => this.databaseCodes = databaseCodes;

    /// <summary>The victim's database codes, computed by <paramref name="encode"/> on first use.</summary>
    public BinaryCodes DatabaseCodes(Func<BinaryCodes> encode)
    {
        lock (gate) return databaseCodes ??= encode();
    }

    /// <summary>The victim's before-figures, computed by <paramref name="evaluate"/> on first use.</summary>
    public (TieAwareMap Clean, TieAwareMap? Triggered) Scores(Func<(TieAwareMap, TieAwareMap?)> evaluate)
    {
        lock (gate) return scores ??= evaluate();
    }
}
