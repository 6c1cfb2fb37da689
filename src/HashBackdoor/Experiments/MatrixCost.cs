namespace HashBackdoor.Experiments;

/// <summary>What the attack x defense matrix cost beside the experiment, measured in one process
/// (<see cref="DefenseMatrixRunner.WithCost"/>).</summary>
public sealed record MatrixCost(double ExperimentWallSeconds, double MatrixWallSeconds, double TotalWallSeconds,
    double ExperimentCpuSeconds, double MatrixCpuSeconds, int CellsRun, int CellsAlreadyPresent);
