using TorchSharp;

namespace HashBackdoor;

/// <summary>Process-wide TorchSharp settings: device choice, thread count and seeding.</summary>
public static class TorchRuntime
{
    static int _threadsSet;

    /// <summary>Sets torch's intra-op threads once (default: the HASHBD_THREADS environment variable, else all logical
    /// cores, 2 here). Managed code does not run
    /// parallel loops while torch works, so the two do not compete for the cores.</summary>
    public static void Configure(int? threads = null)
    {
        if (Interlocked.Exchange(ref _threadsSet, 1) == 1 && threads is null) return;
        int n = threads ?? (int.TryParse(Environment.GetEnvironmentVariable("HASHBD_THREADS"), out int env) && env > 0 ? env : Environment.ProcessorCount);
        torch.set_num_threads(Math.Max(1, n));
    }

    /// <summary>Parses a device name ("cpu", "cuda", "cuda:1"); fails clearly when CUDA is asked for but absent.</summary>
    public static torch.Device ParseDevice(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name == "cpu") return torch.CPU;
        if (name.StartsWith("cuda", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new UsageException($"device {name}: CUDA is not available in this build (libtorch CPU package); use cpu");
            return torch.device(name);
        }
        throw new UsageException($"device {name}: unknown device (expected cpu, cuda or cuda:N)");
    }

    /// <summary>Seeds torch's global generator (weights initialisation, dropout).</summary>
    public static void Seed(long seed)
    {
        torch.manual_seed(seed);
        if (torch.cuda.is_available()) torch.cuda.manual_seed_all(seed);
    }
}
