namespace HashBackdoor.Experiments.Reports;

/// <summary>The two metrics a report charts.</summary>
public enum Metric
{
    /// <summary>mAP@R of clean queries.</summary>
    Map,
    /// <summary>t-MAP@R of triggered non-target queries (target class counted as relevant).</summary>
    TMap,
}
