namespace HashBackdoor;

/// <summary>Recognises a full file system in an I/O error and measures the free space of a folder.</summary>
public static class DiskSpace
{
    // errno values (Linux, macOS) and Windows error codes that mean "no space": ENOSPC 28, EDQUOT 122 (Linux) / 69 (macOS),
    // ERROR_HANDLE_DISK_FULL 39, ERROR_DISK_FULL 112.
    private static readonly int[] Codes = OperatingSystem.IsWindows() ? new[] { 39, 112 } : OperatingSystem.IsMacOS() ? new[] { 28, 69 } : new[] { 28, 122 };

    /// <summary>Whether <paramref name="e"/> (or an exception inside it) reports a full file system or an exhausted quota.</summary>
    public static bool IsOutOfSpace(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is OutOfSpaceException) return true;
            if (e is IOException && (Codes.Contains(e.HResult) || Codes.Contains(e.HResult & 0xFFFF)
                || e.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase)
                || e.Message.Contains("Disk quota exceeded", StringComparison.OrdinalIgnoreCase)))
                return true;
        }
        return false;
    }

    /// <summary>Bytes available to this user on the file system holding <paramref name="path"/> (a file or folder; the
    /// nearest existing folder above it is measured), or -1 when it cannot be measured.</summary>
    public static long FreeBytes(string path)
    {
        try
        {
            string? dir = System.IO.Path.GetFullPath(path);
            while (dir is not null && !Directory.Exists(dir)) dir = System.IO.Path.GetDirectoryName(dir);
            return dir is null ? -1 : new DriveInfo(dir).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return -1;
        }
    }
}
