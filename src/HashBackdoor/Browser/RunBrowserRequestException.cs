using HashBackdoor.Experiments;

namespace HashBackdoor.Browser;

/// <summary>A request to <see cref="RunBrowser"/> that cannot be answered: a malformed or out-of-range value
/// (<see cref="NotFound"/> false) or something the run does not hold, such as a victim not trained yet
/// (<see cref="NotFound"/> true). The message is one line naming the parameter and is safe to show to the client.</summary>
public sealed class RunBrowserRequestException : Exception
{
    /// <summary>Creates the exception; <paramref name="notFound"/> marks a well-formed request for something absent.</summary>
    public RunBrowserRequestException(string message, bool notFound = false) : base(message)
    {
        NotFound = notFound;
    }

    /// <summary>True when the request was well formed but names something the run does not hold.</summary>
    public bool NotFound { get; }
}
