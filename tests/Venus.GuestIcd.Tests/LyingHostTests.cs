using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// Our ICD against a host that lies (<see cref="LyingHost"/>: the real vtest server framing, one lie
/// per case). A real app (vulkaninfo --summary, in the chroot, through our ICD) must get an error
/// code and exit by itself: no signal (SIGBUS/SIGSEGV/SIGABRT), no hang, and one <c>venus:</c> line
/// on stderr that says what the host did wrong.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class LyingHostTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(HostLie.CapsetUnknownWireFormat, "wire format 3735879681")]
    [InlineData(HostLie.CapsetHuge, "GET_CAPSET claims")]
    [InlineData(HostLie.CapsetTruncated, "Vulkan 1.1 is the minimum")]
    [InlineData(HostLie.BlobShorterThanAsked, "less than the")]
    [InlineData(HostLie.BlobFdNotMemory, "blob resource")]
    [InlineData(HostLie.RingHeadPastTail, "ring head")]
    [InlineData(HostLie.RingHeadBackwards, "ring head")]
    [InlineData(HostLie.RingStatusGarbage, "FATAL")]
    [InlineData(HostLie.ReplyGarbage, "")]
    [InlineData(HostLie.ReplySizesLie, "did not decode")]
    [InlineData(HostLie.HangUpMidReply, "the host closed the connection")]
    public void AppGetsAnErrorAndExitsCleanly(HostLie lie, string why)
    {
        IcdInstall icd = fx.Icd;
        using LyingHost host = LyingHost.Start(fx.PeersRoot, IcdFixture.SocketPrefix, lie);
        var env = fx.IcdEnvironment(host.ChrootSocketPath);
        RunResult run = fx.RunInChroot("vulkaninfo --summary", env, Limit);
        string report = $"{lie} through {icd.ManifestPath}:\n{run}\n--- lying host ---\n{host.LogText()}";
        output.WriteLine(report);

        Assert.False(run.TimedOut, $"the app hung against a host that lies ({lie}):\n{report}");
        Assert.True(run.Signal is null, $"the app died of {run.Signal} against a host that lies ({lie}):\n{report}");
        Assert.True(run.ExitCode != 0, $"the app succeeded against a host that lies ({lie}):\n{report}");
        Assert.DoesNotContain("Unhandled exception", run.Stderr);
        string[] venusLines = run.Stderr.Split('\n').Where(l => l.StartsWith("venus: ", StringComparison.Ordinal)).ToArray();
        Assert.True(venusLines.Any(l => l.Contains(why, StringComparison.Ordinal)),
            $"no 'venus:' line says why ('{why}'):\n{report}");
        Assert.True(host.LogText().Contains("lie:", StringComparison.Ordinal) || lie.ToString().StartsWith("Capset", StringComparison.Ordinal),
            $"the lying host never told its lie ({lie}): the test did not test it:\n{report}");
    }
}
