namespace HashBackdoor.Defenses;

/// <summary>What a defense inspects, as TrojanZoo groups defenses.</summary>
public enum DefenseGroup
{
    /// <summary>Rejects suspicious queries at retrieval time (STRIP).</summary>
    InputFiltering,
    /// <summary>Finds and removes poisoned training images before (re)training (spectral signatures, activation clustering).</summary>
    TrainingSetFiltering,
    /// <summary>Decides from the model alone whether, and towards which class, it is backdoored (Neural Cleanse).</summary>
    ModelInspection,
    /// <summary>Changes the model to remove the backdoor (fine-tuning, fine-pruning).</summary>
    ModelRepair,
}
