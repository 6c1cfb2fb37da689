using System.Runtime.InteropServices;

namespace HashBackdoor;

/// <summary>
/// Sets environment variables that native libraries read with <c>getenv</c>. On Linux and macOS
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> changes only .NET's own copy of the environment, so
/// libgomp (loaded with libtorch) never sees it; this writes the C library's environment as well.
/// </summary>
public static class NativeEnvironment
{
    [DllImport("libc", EntryPoint = "setenv", SetLastError = true)]
    private static extern int SetEnv(string name, string value, int overwrite);

    [DllImport("libc", EntryPoint = "getenv")]
    private static extern IntPtr GetEnv(string name);

    /// <summary>Sets <paramref name="name"/> for .NET and for native code, unless it is already set (either way).</summary>
    /// <returns>True when the variable was set here, false when it already had a value.</returns>
    public static bool SetIfUnset(string name, string value)
    {
        if (Environment.GetEnvironmentVariable(name) is not null || Get(name) is not null) return false;
        Environment.SetEnvironmentVariable(name, value);
        if (!OperatingSystem.IsWindows() && SetEnv(name, value, 0) != 0)
            throw new InvalidOperationException($"setenv({name}) failed with errno {Marshal.GetLastPInvokeError()}");
        return true;
    }

    /// <summary>The value native code sees for <paramref name="name"/> (the C library's environment), or null.</summary>
    public static string? Get(string name)
    {
        if (OperatingSystem.IsWindows()) return Environment.GetEnvironmentVariable(name);
        var p = GetEnv(name);
        return p == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(p);
    }
}
