namespace HashBackdoor.Bench;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.WriteLine("benchmarks: under construction");
        return 0;
    }
}
