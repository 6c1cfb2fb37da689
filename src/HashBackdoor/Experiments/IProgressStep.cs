namespace HashBackdoor.Experiments;

/// <summary>One long step.</summary>
public interface IProgressStep : IDisposable
{
    void Report(double done, string? status = null);
}
