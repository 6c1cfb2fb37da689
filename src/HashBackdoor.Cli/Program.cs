namespace HashBackdoor.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.WriteLine("hashbd: under construction");
        return 0;
    }
}
