using System.Text;
using HashBackdoor.Retrieval;

namespace HashBackdoor.Tests.Retrieval;

public class NpyFileTests
{
    /// <summary>A .npy file as numpy writes it: magic, version, little-endian header length, padded header, data.</summary>
    static byte[] Npy(string header, byte[] data, int major = 1, int pad = 64)
    {
        int lenBytes = major == 1 ? 2 : 4;
        int fixedLen = 8 + lenBytes;
        int total = fixedLen + header.Length + 1;
        int padded = (total + pad - 1) / pad * pad;
        string h = header + new string(' ', padded - total) + "\n";
        var ms = new MemoryStream();
        ms.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0 });
        if (major == 1) ms.Write(BitConverter.GetBytes((ushort)h.Length));
        else ms.Write(BitConverter.GetBytes((uint)h.Length));
        ms.Write(Encoding.ASCII.GetBytes(h));
        ms.Write(data);
        return ms.ToArray();
    }

    [Fact]
    public void RoundTripsEveryDtypeAnd1DAnd2D()
    {
        using var dir = new TempDir();
        NpyFile.Write(dir.File("u1.npy"), new byte[] { 1, 2, 3, 250, 0, 9 }, 2, 3);
        NpyFile.Write(dir.File("i4.npy"), new[] { -1, int.MaxValue, 7 }, 3);
        NpyFile.Write(dir.File("i8.npy"), new[] { long.MinValue, 5L, 6L, 7L }, 2, 2);
        NpyFile.Write(dir.File("f4.npy"), new[] { 1.5f, -0f, float.NaN, 3e38f }, 4, 1);
        NpyFile.Write(dir.File("f8.npy"), new[] { Math.PI, -1e-300 }, 1, 2);
        NpyFile.WriteBool(dir.File("b1.npy"), new byte[] { 1, 0, 1 }, 3);
        NpyFile.Write(dir.File("empty.npy"), Array.Empty<long>(), 0, 5);

        NpyArray u1 = NpyFile.Read(dir.File("u1.npy"));
        Assert.Equal(NpyDType.UInt8, u1.DType);
        Assert.Equal(new[] { 2, 3 }, u1.Shape);
        Assert.Equal(new byte[] { 1, 2, 3, 250, 0, 9 }, u1.AsBytes());

        NpyArray i4 = NpyFile.Read(dir.File("i4.npy"));
        Assert.Equal(new[] { 3 }, i4.Shape);
        Assert.Equal(1, i4.Rank);
        Assert.Equal(new[] { -1, int.MaxValue, 7 }, i4.AsInt32());

        Assert.Equal(new[] { long.MinValue, 5L, 6L, 7L }, NpyFile.Read(dir.File("i8.npy")).AsInt64());
        float[] f4 = NpyFile.Read(dir.File("f4.npy")).AsFloat32();
        Assert.Equal(1.5f, f4[0]);
        Assert.True(float.IsNegative(f4[1]) && f4[1] == 0f);
        Assert.True(float.IsNaN(f4[2]));
        Assert.Equal(new[] { Math.PI, -1e-300 }, NpyFile.Read(dir.File("f8.npy")).AsFloat64());
        NpyArray b1 = NpyFile.Read(dir.File("b1.npy"));
        Assert.Equal(NpyDType.Bool, b1.DType);
        Assert.Equal(new byte[] { 1, 0, 1 }, b1.AsBytes());
        NpyArray empty = NpyFile.Read(dir.File("empty.npy"));
        Assert.Equal(new[] { 0, 5 }, empty.Shape);
        Assert.Empty(empty.AsInt64());

        // header layout: version 1.0, data aligned to 64 bytes, header ends with a newline
        byte[] raw = File.ReadAllBytes(dir.File("i8.npy"));
        Assert.Equal(1, raw[6]);
        int hlen = raw[8] | (raw[9] << 8);
        Assert.Equal(0, (10 + hlen) % 64);
        Assert.Equal((byte)'\n', raw[10 + hlen - 1]);
        Assert.StartsWith("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", Encoding.ASCII.GetString(raw, 10, hlen));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp")); // atomic writes leave no temporary files
    }

    [Fact]
    public void ReadsNumpyStyleHeadersOfVersions1And2()
    {
        using var dir = new TempDir();
        byte[] data = new byte[6 * 4];
        for (int i = 0; i < 6; i++) BitConverter.GetBytes((float)i).CopyTo(data, 4 * i);
        File.WriteAllBytes(dir.File("v1.npy"), Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data, 1, 16));
        File.WriteAllBytes(dir.File("v2.npy"), Npy("{\"descr\":\"<f4\",\"shape\":(6,),\"fortran_order\":False}", data, 2));
        File.WriteAllBytes(dir.File("py2.npy"), Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 2L)}", data));
        Assert.Equal(new float[] { 0, 1, 2, 3, 4, 5 }, NpyFile.Read(dir.File("v1.npy")).AsFloat32());
        Assert.Equal(new[] { 6 }, NpyFile.Read(dir.File("v2.npy")).Shape);
        Assert.Equal(new[] { 3, 2 }, NpyFile.Read(dir.File("py2.npy")).Shape);
    }

    static DataException ReadFails(TempDir dir, byte[] content, string expectedFragment)
    {
        string path = dir.File("bad.npy");
        File.WriteAllBytes(path, content);
        var e = Assert.Throws<DataException>(() => NpyFile.Read(path));
        Assert.Equal(path, e.Path);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expectedFragment, e.Problem);
        return e;
    }

    [Fact]
    public void TruncatedDataIsReported()
    {
        using var dir = new TempDir();
        byte[] full = Npy("{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", new byte[32]);
        ReadFails(dir, full[..^1], "truncated");
        ReadFails(dir, full[..20], "truncated");   // inside the header
        ReadFails(dir, full[..8], "truncated");    // inside the preamble
        ReadFails(dir, full.Concat(new byte[3]).ToArray(), "trailing");
    }

    [Fact]
    public void BadMagicIsReported()
    {
        using var dir = new TempDir();
        byte[] good = Npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", new byte[2]);
        byte[] bad = (byte[])good.Clone();
        bad[1] = (byte)'X';
        ReadFails(dir, bad, "bad magic");
        ReadFails(dir, Array.Empty<byte>(), "bad magic");
        ReadFails(dir, Encoding.ASCII.GetBytes("id,label\n1,2\n"), "bad magic");
    }

    [Fact]
    public void UnsupportedVersionDtypeOrderAndRankAreReported()
    {
        using var dir = new TempDir();
        byte[] v4 = Npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", new byte[2]);
        v4[6] = 4;
        ReadFails(dir, v4, "version 4.0");
        ReadFails(dir, Npy("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", new byte[16]), "unsupported dtype");
        ReadFails(dir, Npy("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", new byte[12]), "unsupported dtype");
        ReadFails(dir, Npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]), "big-endian");
        ReadFails(dir, Npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new byte[16]), "Fortran");
        ReadFails(dir, Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1), }", new byte[4]), "2-D");
        ReadFails(dir, Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", new byte[4]), "2-D");
        ReadFails(dir, Npy("{'descr': '<f4', 'shape': (1,), }", new byte[4]), "malformed");
        ReadFails(dir, Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", new byte[4]), "malformed");
        ReadFails(dir, Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", new byte[4]), "malformed");
    }

    [Fact]
    public void HugeShapeInHeaderOfTinyFileIsRejectedWithoutAllocating()
    {
        using var dir = new TempDir();
        // would be 10^10 x 10^10 float64 elements: overflow, or far beyond the 8 data bytes present
        ReadFails(dir, Npy("{'descr': '<f8', 'fortran_order': False, 'shape': (10000000000, 10000000000), }", new byte[8]), "impossibly large");
        ReadFails(dir, Npy("{'descr': '<f8', 'fortran_order': False, 'shape': (200000, 100000), }", new byte[8]), "truncated");
        ReadFails(dir, Npy("{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999999,), }", new byte[8]), "truncated");
        // a header length field larger than the file
        byte[] hdr = Npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", new byte[1], 2);
        hdr[8] = 0xFF; hdr[9] = 0xFF; hdr[10] = 0x0F; hdr[11] = 0;
        ReadFails(dir, hdr, "truncated");
        hdr[11] = 0x7F;
        ReadFails(dir, hdr, "implausibly large");
    }

    [Fact]
    public void MissingFileAndWrongDtypeAccessAreDataErrors()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<DataException>(() => NpyFile.Read(dir.File("nope.npy")));
        Assert.Contains("not found", e.Problem);
        NpyFile.Write(dir.File("f.npy"), new float[] { 1, 2 }, 2);
        Assert.Throws<DataException>(() => NpyFile.Read(dir.File("f.npy")).AsInt64());
        Assert.Throws<DataException>(() => NpyFile.ReadUInt8Matrix(dir.File("f.npy"), out _, out _));
    }

    [Fact]
    public void WriteRejectsShapeMismatch()
    {
        using var dir = new TempDir();
        Assert.Throws<UsageException>(() => NpyFile.Write(dir.File("x.npy"), new long[5], 2, 3));
        Assert.Throws<UsageException>(() => NpyFile.WriteBool(dir.File("x.npy"), new byte[] { 2 }, 1));
        Assert.False(File.Exists(dir.File("x.npy")));
    }
}

public class LabelSetsFromNpyTests
{
    [Fact]
    public void MultiHotAndClassIndexArraysBecomeLabelSets()
    {
        using var dir = new TempDir();
        NpyFile.Write(dir.File("mh.npy"), new float[] { 1, 0, 1, 0, 0, 1 }, 2, 3);
        NpyFile.WriteBool(dir.File("b.npy"), new byte[] { 1, 0, 1, 0, 0, 1 }, 2, 3);
        NpyFile.Write(dir.File("idx.npy"), new long[] { 2, 0, 4 }, 3);
        NpyFile.Write(dir.File("bad.npy"), new int[] { 1, 2, 0 }, 1, 3);
        NpyFile.Write(dir.File("neg.npy"), new int[] { 1, -1 }, 2);

        LabelSets mh = LabelSets.FromNpy(NpyFile.Read(dir.File("mh.npy")));
        Assert.Equal(new[] { 0b101UL, 0b100UL }, mh.Masks.ToArray());
        Assert.Equal(mh.Masks.ToArray(), LabelSets.FromNpy(NpyFile.Read(dir.File("b.npy")), 3).Masks.ToArray());
        LabelSets idx = LabelSets.FromNpy(NpyFile.Read(dir.File("idx.npy")));
        Assert.Equal(5, idx.Classes);
        Assert.Equal(new[] { 1UL << 2, 1UL, 1UL << 4 }, idx.Masks.ToArray());

        Assert.Equal(dir.File("bad.npy"), Assert.Throws<DataException>(() => LabelSets.FromNpy(NpyFile.Read(dir.File("bad.npy")))).Path);
        Assert.Throws<DataException>(() => LabelSets.FromNpy(NpyFile.Read(dir.File("neg.npy"))));
        Assert.Throws<DataException>(() => LabelSets.FromNpy(NpyFile.Read(dir.File("mh.npy")), 4));
        Assert.Throws<DataException>(() => LabelSets.FromNpy(NpyFile.Read(dir.File("idx.npy")), 3));
    }
}
