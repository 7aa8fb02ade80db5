using System.Diagnostics;
using System.Text;

namespace Venus.TestSupport;

/// <summary>One finished (or killed) process: exit code, both streams, wall time.</summary>
public sealed record RunResult(
    string Command,
    int ExitCode,
    string Stdout,
    string Stderr,
    TimeSpan Wall,
    bool TimedOut,
    TimeSpan Timeout)
{
    /// <summary>Exit code used when the hard timeout killed the process tree.</summary>
    public const int KilledByTimeout = -1;

    public bool Succeeded => !TimedOut && ExitCode == 0;

    /// <summary>
    /// The signal that ended the process, when it shows as 128 + signal (sh, or .NET for a direct child);
    /// else null. Only the standard signals 1–31 count: a program's own exit status above 159 (ffmpeg
    /// exits 187 for AVERROR_EXTERNAL) is not a real-time signal.
    /// </summary>
    public string? Signal => TimedOut || ExitCode <= 128 || ExitCode > 128 + 31
        ? null
        : (ExitCode - 128) switch
        {
            4 => "SIGILL",
            6 => "SIGABRT",
            7 => "SIGBUS",
            8 => "SIGFPE",
            9 => "SIGKILL",
            11 => "SIGSEGV",
            15 => "SIGTERM",
            int n => "signal " + n,
        };

    public string Outcome => TimedOut
        ? $"KILLED after the hard timeout of {Timeout.TotalSeconds:0} s (hung)"
        : $"exit code {ExitCode}";

    public override string ToString() =>
        $"{Command}\n{Outcome}, wall {Wall.TotalMilliseconds:0.0} ms\n" +
        $"--- stdout (last 40 lines) ---\n{Tail(Stdout, 40)}\n--- stderr (last 40 lines) ---\n{Tail(Stderr, 40)}";

    public static string Tail(string text, int lines)
    {
        string[] all = text.TrimEnd('\n').Split('\n');
        return all.Length <= lines
            ? string.Join('\n', all)
            : $"[... {all.Length - lines} lines before ...]\n" + string.Join('\n', all[^lines..]);
    }
}

/// <summary>
/// Runs a program to completion with a hard timeout. Unlike a plain Process.WaitForExit, a timeout is
/// a result (<see cref="RunResult.TimedOut"/>), not an exception, after the whole process tree has
/// been killed: Mesa's venus guest hangs rather than failing on some host errors.
/// </summary>
public static class ProcessRun
{
    public static RunResult Run(string fileName, IEnumerable<string> arguments, TimeSpan timeout,
        string? workingDirectory = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string argument in arguments)
            startInfo.ArgumentList.Add(argument);
        string command = fileName + " " + string.Join(' ', startInfo.ArgumentList.Select(Quote));

        using var process = new Process { StartInfo = startInfo };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        using var stdoutClosed = new ManualResetEventSlim();
        using var stderrClosed = new ManualResetEventSlim();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) stdoutClosed.Set();
            else lock (stdout) stdout.AppendLine(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) stderrClosed.Set();
            else lock (stderr) stderr.AppendLine(e.Data);
        };

        var clock = Stopwatch.StartNew();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        bool timedOut = !process.WaitForExit(timeout);
        TimeSpan wall = clock.Elapsed;
        if (timedOut)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        }
        // Waits for both streams' end, bounded: a (killed or daemonized) grandchild may still hold a pipe.
        // (WaitForExit(TimeSpan) alone does not wait for the asynchronous readers.)
        process.WaitForExit(TimeSpan.FromSeconds(10));
        stdoutClosed.Wait(TimeSpan.FromSeconds(5));
        stderrClosed.Wait(TimeSpan.FromSeconds(5));
        string outText, errText;
        lock (stdout) outText = stdout.ToString();
        lock (stderr) errText = stderr.ToString();
        return new RunResult(command, timedOut ? RunResult.KilledByTimeout : process.ExitCode, outText, errText, wall,
            timedOut, timeout);
    }

    private static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";
}
