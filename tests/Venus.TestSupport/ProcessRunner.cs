namespace Venus.TestSupport;

public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() =>
        $"exit code {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// Runs a program to completion, capturing both streams; a timeout kills its process tree and
/// throws (<see cref="ProcessRun"/> is the same run with the timeout as a result instead).
/// </summary>
public static class ProcessRunner
{
    public static ProcessResult Run(string fileName, IEnumerable<string> arguments, TimeSpan timeout,
        string? workingDirectory = null)
    {
        RunResult run = ProcessRun.Run(fileName, arguments, timeout, workingDirectory);
        if (run.TimedOut)
            throw new TimeoutException(
                $"'{run.Command}' did not finish within {timeout.TotalSeconds:0} s\n" +
                $"--- stdout ---\n{run.Stdout}\n--- stderr ---\n{run.Stderr}");
        return new ProcessResult(run.ExitCode, run.Stdout, run.Stderr);
    }
}
