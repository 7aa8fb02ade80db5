using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Venus.Interop.Tests;

/// <summary>
/// venus-host serves every client in a worker process of its own: when a worker dies the way a
/// driver crash would kill it (SIGKILL, as an abort or crash in the driver ends it), only that client is lost; the server and the next clients
/// go on.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class WorkerIsolationTests(InteropFixture fx, ITestOutputHelper output)
{
    static readonly Regex Serves = new(@"worker (\d+) serves vtest client (\d+)");
    static readonly Regex Ok = new(@"^compute: N=(\d+) ok .*$", RegexOptions.Multiline);

    string Compute(uint n, int seconds) => $"{fx.Clients.Executable("compute")} {fx.Clients.Spirv("compute.comp")} {n} {seconds}";

    [Fact]
    public void ACrashedWorkerEndsOnlyItsClient()
    {
        using RunningHost host = fx.StartHost(HostKind.VenusHost);
        output.WriteLine($"host: {host}");

        // A long-running client whose worker we crash while it works.
        GuestRun? victim = null;
        var victimThread = new Thread(() => victim = fx.RunGuest(host, Compute(1u << 26, 20), TimeSpan.FromSeconds(40)));
        victimThread.Start();
        int workerPid = 0;
        var deadline = Stopwatch.StartNew();
        while (workerPid == 0 && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            var m = Serves.Match(host.ReadLog());
            if (m.Success) workerPid = int.Parse(m.Groups[1].Value);
            else Thread.Sleep(50);
        }
        Assert.True(workerPid != 0, $"no worker took the client:\n{host.LogTail()}");
        Thread.Sleep(100);
        Assert.True(ProcessTree.IsAlive(workerPid), "the worker ended before it could be crashed");
        Process.Start("kill", $"-KILL {workerPid}")!.WaitForExit();
        Assert.True(victimThread.Join(TimeSpan.FromSeconds(60)));
        output.WriteLine($"victim: exit {victim!.Run.ExitCode}, timed out {victim.Run.TimedOut}");
        Assert.False(Ok.IsMatch(victim.Run.Stdout), "the crashed client still finished");

        // The server noticed, said so, and serves the next client.
        deadline.Restart();
        while (!host.ReadLog().Contains("ended with signal 9") && deadline.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(50);
        Assert.Contains("ended with signal 9; the other clients go on", host.ReadLog());
        Assert.True(host.IsAlive, "venus-host died with its worker");
        GuestRun next = fx.RunGuest(host, Compute(1u << 16, 30), TimeSpan.FromSeconds(60));
        output.WriteLine(next.Run.Stdout.TrimEnd());
        Assert.True(next.Run.Succeeded && Ok.IsMatch(next.Run.Stdout), $"the next client failed:\n{next}");
    }
}
