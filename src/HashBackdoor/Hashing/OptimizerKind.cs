namespace HashBackdoor.Experiments;

/// <summary>The optimiser of training (config <c>training.optimizer</c>).</summary>
public enum OptimizerKind
{
    /// <summary>"adam": Adam (the CPU recipe).</summary>
    Adam,
    /// <summary>"sgd": SGD with momentum (the reference recipe).</summary>
    Sgd,
}
