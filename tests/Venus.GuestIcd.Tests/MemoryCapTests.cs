using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// venus-host's per-context device memory cap (<c>--max-device-memory</c>) against the real
/// lavapipe: tests/clients/alloc.c allocates 4 MiB blocks until vkAllocateMemory fails, frees them,
/// does it again, then fills and reads back a buffer in fresh memory. With a 64 MiB cap both rounds
/// must hold exactly 16 blocks and end in VK_ERROR_OUT_OF_DEVICE_MEMORY, the device must still work,
/// and a second client on the same host (a fresh context) must get the same 16: nothing of the first
/// context still counts. Through our ICD and through Mesa's guest (with VN_PERF=no_async_mem_alloc:
/// Mesa otherwise sends allocations without waiting, so a refusal cannot reach the app, and the
/// context ends at the first use of the refused memory), in both isolation modes. The host logs one
/// refusal line per context and stays up.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class MemoryCapTests(IcdFixture fx, ITestOutputHelper output)
{
    private const int CapMiB = 64, BlockMiB = 4;

    private static readonly Regex RefusalLine = new(@"vkAllocateMemory of \d+ bytes refused \(VK_ERROR_OUT_OF_DEVICE_MEMORY\): the context holds (\d+) bytes, the cap is (\d+) \(--max-device-memory\)");

    [Theory]
    [InlineData("ours", "process")]
    [InlineData("ours", "thread")]
    [InlineData("mesa", "process")]
    [InlineData("mesa", "thread")]
    public void AllocationsPastTheCapAreRefusedAndFreedMemoryCountsNoMore(string driver, string isolation)
    {
        using RunningHost host = fx.StartHost(HostKind.VenusHost, "--isolation", isolation, "--max-device-memory", $"{CapMiB}M");
        string command = $"{fx.Clients.Executable("alloc")} {BlockMiB} 100";
        for (int client = 1; client <= 2; client++)
        {
            DriverRun run = driver == "ours"
                ? fx.RunThroughIcd(host, command, TimeSpan.FromSeconds(60))
                : fx.RunThroughMesa(host, command, TimeSpan.FromSeconds(60), new Dictionary<string, string> { ["VN_PERF"] = "no_async_mem_alloc" });
            output.WriteLine($"client {client}: {run}");
            Assert.True(run.Run.Succeeded, $"client {client}: alloc failed:\n{run}");
            int blocks = CapMiB / BlockMiB;
            for (int round = 1; round <= 2; round++)
                Assert.Contains($"alloc: round {round}: {blocks} blocks of {BlockMiB} MiB, then -2 (VK_ERROR_OUT_OF_DEVICE_MEMORY)", run.Run.Stdout);
            Assert.Contains("alloc: fill after the refusals ok", run.Run.Stdout);
            Assert.True(run.HostAliveAfter, $"client {client}: the host died:\n{run}");
        }
        MatchCollection refusals = RefusalLine.Matches(host.ReadLog());
        Assert.True(refusals.Count == 2, $"expected one refusal line per context (2), found {refusals.Count}:\n{host.LogTail(40)}");
        foreach (Match m in refusals)
            Assert.Equal(((long)CapMiB << 20).ToString(System.Globalization.CultureInfo.InvariantCulture), m.Groups[1].Value);
        Assert.DoesNotContain("fatal", host.ReadLog());
    }
}
