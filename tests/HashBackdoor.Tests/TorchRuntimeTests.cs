using static TorchSharp.torch;

namespace HashBackdoor.Tests;

public class TorchRuntimeTests
{
    [Fact]
    public void NativeLibraryLoadsAndComputes()
    {
        // 2x2 matrix product worked by hand: [[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]]
        using var a = tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2);
        using var b = tensor(new float[] { 5, 6, 7, 8 }).reshape(2, 2);
        using var c = a.matmul(b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());
    }
}
