using Xunit;

namespace HashBackdoor.Tests.Reliability;

/// <summary>
/// The CLI's OMP_WAIT_POLICY must reach native code: Environment.SetEnvironmentVariable alone does not change what
/// getenv returns on Linux, which is what libgomp reads.
/// </summary>
public class NativeEnvironmentTests
{
    [Fact]
    public void ManagedSetEnvironmentVariableAloneIsInvisibleToNativeGetenv()
    {
        // The premise of NativeEnvironment: if this ever starts to fail, .NET propagates by itself and the class is moot.
        var name = "HASHBD_TEST_MANAGED_ONLY_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, "x");
        Assert.Null(NativeEnvironment.Get(name));
        Environment.SetEnvironmentVariable(name, null);
    }

    [Fact]
    public void SetIfUnsetReachesNativeGetenvAndDotNet()
    {
        var name = "HASHBD_TEST_NATIVE_" + Guid.NewGuid().ToString("N");
        Assert.True(NativeEnvironment.SetIfUnset(name, "PASSIVE"));
        Assert.Equal("PASSIVE", NativeEnvironment.Get(name));
        Assert.Equal("PASSIVE", Environment.GetEnvironmentVariable(name));
    }

    [Fact]
    public void SetIfUnsetKeepsAnExistingValue()
    {
        var name = "HASHBD_TEST_KEEP_" + Guid.NewGuid().ToString("N");
        Assert.True(NativeEnvironment.SetIfUnset(name, "ACTIVE"));
        Assert.False(NativeEnvironment.SetIfUnset(name, "PASSIVE"));
        Assert.Equal("ACTIVE", NativeEnvironment.Get(name));
        Assert.Equal("ACTIVE", Environment.GetEnvironmentVariable(name));
    }
}
