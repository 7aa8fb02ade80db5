using Venus.Cli;

return VenusCli.Run(args, Console.Out, Console.Error);
