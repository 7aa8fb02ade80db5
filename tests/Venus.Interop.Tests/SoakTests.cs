using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Venus.Interop.Tests;

/// <summary>
/// Eight guests at once against one venus-host in its default (worker process) mode (issue 14):
/// seven well-behaved ones run Mesa's guest with the compute job in a loop, each run checking its
/// results (out[i] = i² + 7), while one hostile guest reconnects over and over, in turn sending
/// random bytes, a valid vtest start followed by random bytes, or starting a compute guest and
/// SIGKILLing it at a random moment. The host's fds, threads, workers and RSS (server + workers)
/// are sampled every second; at the end they must be back at the start (fds, threads, workers,
/// server RSS within the churn test's tolerances) and every well-behaved run must have passed.
/// VENUS_INTEROP_SOAK_SECONDS sets the length (default 30; the long run is 600).
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class SoakTests(InteropFixture fx, ITestOutputHelper output)
{
    private static readonly int Seconds =
        int.TryParse(Environment.GetEnvironmentVariable("VENUS_INTEROP_SOAK_SECONDS"), NumberStyles.None, CultureInfo.InvariantCulture, out int s) && s > 0 ? s : 30;

    private const int WellBehaved = 7;
    private const int FdTolerance = 3;
    private const int ThreadTolerance = 2;
    private const long RssToleranceKb = 32 * 1024;

    [Fact]
    public void EightGuestsOneHostileForAWhileLeaveNothingBehind()
    {
        using RunningHost host = fx.StartHost(HostKind.VenusHost);
        output.WriteLine($"host: {host}; {Seconds} s (VENUS_INTEROP_SOAK_SECONDS)");
        WorkerChurnTests.MustRunCompute(fx, output, host, "warm-up");
        HostSample start = HostileGuestTests.SettledBaseline(host.Pid);
        output.WriteLine($"start: {start}");

        var deadline = Stopwatch.StartNew();
        var limit = TimeSpan.FromSeconds(Seconds);
        int runs = 0, hostileRounds = 0;
        var failures = new List<string>();
        var perGuest = new int[WellBehaved];
        var threads = new List<Thread>();
        for (int g = 0; g < WellBehaved; g++)
        {
            int guest = g;
            threads.Add(new Thread(() =>
            {
                while (deadline.Elapsed < limit)
                {
                    GuestRun run = fx.RunGuest(host, fx.Compute(1u << 14), TimeSpan.FromSeconds(120));
                    if (run.Run.Succeeded && WorkerChurnTests.OkLine.IsMatch(run.Run.Stdout))
                    {
                        Interlocked.Increment(ref runs);
                        perGuest[guest]++;
                    }
                    else lock (failures) failures.Add($"guest {guest}: {run}");
                }
            }) { IsBackground = true });
        }
        threads.Add(new Thread(() =>
        {
            var random = new Random(14);
            while (deadline.Elapsed < limit)
            {
                Hostile(host, random, hostileRounds);
                Interlocked.Increment(ref hostileRounds);
            }
        }) { IsBackground = true });

        int peakWorkers = start.Workers, peakFds = start.Fds, peakThreads = start.Threads;
        long peakRssKb = start.TotalRssKb;
        foreach (Thread t in threads) t.Start();
        while (threads.Any(t => t.IsAlive))
        {
            Thread.Sleep(1000);
            if (!host.IsAlive) break;
            HostSample sample = HostSample.Take(host.Pid);
            peakWorkers = Math.Max(peakWorkers, sample.Workers);
            peakFds = Math.Max(peakFds, sample.Fds);
            peakThreads = Math.Max(peakThreads, sample.Threads);
            peakRssKb = Math.Max(peakRssKb, sample.TotalRssKb);
        }
        foreach (Thread t in threads) Assert.True(t.Join(TimeSpan.FromSeconds(180)), "a guest thread did not end");
        Assert.True(host.IsAlive, $"venus-host died during the soak:\n{host.LogTail(40)}");
        output.WriteLine($"{Seconds} s: {runs} compute runs checked by {WellBehaved} guests ({string.Join(' ', perGuest)}), {hostileRounds} hostile connections; " +
                         $"peak workers {peakWorkers}, fds {peakFds}, threads {peakThreads}, RSS (server + workers) {peakRssKb / 1024.0:0} MiB");

        output.WriteLine($"{failures.Count} well-behaved runs failed{(failures.Count > 0 ? $"; the first:\n{failures[0]}" : "")}");
        WorkerChurnTests.MustRunCompute(fx, output, host, "after the soak");
        // Threads that served the eight clients at once are the runtime's pool, which retires idle
        // threads after about 20 s: wait (at most 40 s) for the count to come back before judging it.
        HostSample end = HostileGuestTests.SettledBaseline(host.Pid);
        var settle = Stopwatch.StartNew();
        while (end.Threads - start.Threads > ThreadTolerance && settle.Elapsed < TimeSpan.FromSeconds(40))
        {
            Thread.Sleep(500);
            end = HostSample.Take(host.Pid);
        }
        output.WriteLine($"threads {end.Threads} after {settle.Elapsed.TotalSeconds:0.0} s of idleness");
        output.WriteLine($"end:   {end}");
        output.WriteLine($"MEASURED soak {Seconds} s, start vs end: fds {start.Fds} -> {end.Fds} (max {peakFds}), threads {start.Threads} -> {end.Threads} (max {peakThreads}), " +
                         $"workers {start.Workers} -> {end.Workers} (max {peakWorkers}), server VmRSS {start.VmRssKb / 1024.0:0.0} -> {end.VmRssKb / 1024.0:0.0} MiB, " +
                         $"server + workers {start.TotalRssKb / 1024.0:0.0} -> {end.TotalRssKb / 1024.0:0.0} MiB (max {peakRssKb / 1024.0:0})");
        Assert.True(failures.Count == 0, $"{failures.Count} of {runs + failures.Count} well-behaved runs failed; the first:\n{failures.FirstOrDefault()}");
        Assert.True(perGuest.All(n => n > 0), $"a well-behaved guest never completed a run: {string.Join(' ', perGuest)}");
        Assert.True(Math.Abs(end.ResourceFds - start.ResourceFds) <= FdTolerance, $"fds not back to the start: {end.DiffFrom(start)}\nstart {start}\nend   {end}");
        Assert.True(end.Threads - start.Threads <= ThreadTolerance, $"threads grew from {start.Threads} to {end.Threads}");
        Assert.Equal(start.Workers, end.Workers);
        Assert.True(end.VmRssKb - start.VmRssKb <= RssToleranceKb, $"server VmRSS grew by {(end.VmRssKb - start.VmRssKb) / 1024.0:0.0} MiB");
    }

    /// <summary>One hostile connection: random bytes, a valid start then random bytes, or a compute guest killed at a random moment.</summary>
    private void Hostile(RunningHost host, Random random, int round)
    {
        switch (round % 3)
        {
            case 0:
            case 1:
                using (var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
                {
                    s.Connect(new UnixDomainSocketEndPoint(host.SocketPath));
                    if (round % 3 == 1)
                        // CREATE_RENDERER (length 8, command 8, "hostile\0"), then PROTOCOL_VERSION 3.
                        s.Send([8, 0, 0, 0, 8, 0, 0, 0, .."hostile\0"u8, 1, 0, 0, 0, 11, 0, 0, 0, 3, 0, 0, 0]);
                    var garbage = new byte[random.Next(1, 4096)];
                    random.NextBytes(garbage);
                    try { s.Send(garbage); } catch (SocketException) { /* dropped already */ }
                    Thread.Sleep(random.Next(50));
                }
                break;
            default:
                using (Process guest = fx.StartGuestProcess(host, 1u << 22))
                {
                    Thread.Sleep(random.Next(400));
                    try { guest.Kill(); } catch (InvalidOperationException) { /* ended by itself */ }
                    guest.WaitForExit(10_000);
                }
                break;
        }
    }
}
