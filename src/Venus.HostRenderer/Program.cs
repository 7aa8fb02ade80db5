namespace Venus.HostRenderer; public static class Program { public static int Main(string[] args) { System.Console.Error.WriteLine("venus-host: not yet"); return 2; } }
