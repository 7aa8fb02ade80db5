using System.Globalization;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// Asynchronous creation under a host that then fails (issue 12): our ICD sends vkCreateBuffer
/// without waiting for the host, so a host that refuses the object cannot answer that call. Here
/// venus-host's object cap (<c>--max-objects 100</c>) ends the context part-way through
/// tests/clients/objcap.c's 500 creations; the failure must reach the app at the next call that can
/// report it (a later vkCreateBuffer, which sees the ring's FATAL bit, or vkDeviceWaitIdle at the
/// latest) as VK_ERROR_DEVICE_LOST within a second, teardown must return, the host must log why and
/// stay up, and a second client on the same host (a fresh context) must create its 50 buffers and
/// wait idle with VK_SUCCESS: nothing of the failed context counts against it. In both isolation modes.
/// The same for images (<c>objcap N image</c>): vkCreateImage goes without a reply once the image
/// requirements cache knows the create info (<c>Runtime/ImageCache.cs</c>), each image's
/// vkGetImageMemoryRequirements is answered in the guest and must match the first; the ICD's log at
/// vkDestroyDevice must show cache hits (asynchronous creates happened) and no image or buffer state
/// left behind after the app destroyed them all, past the cap (lost device) and under it.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class AsyncCreateCapTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly Regex Created = new(@"objcap: created (\d+) of 500, (all created|then -4 \(VK_ERROR_DEVICE_LOST\))");
    private static readonly Regex Waited = new(@"objcap: vkDeviceWaitIdle -> (-?\d+) \((\w+)\) after (\d+) ms");

    private static readonly Regex Teardown = new(@"vkDestroyDevice: image requirements cache (\d+) hits, (\d+) misses; still tracked: (\d+) images \((\d+) with requirements\), (\d+) buffers");

    [Theory]
    [InlineData("thread", "buffer")]
    [InlineData("process", "buffer")]
    [InlineData("thread", "image")]
    [InlineData("process", "image")]
    public void ACreationTheHostRefusesIsReportedAtTheNextCallThatCanReportIt(string isolation, string kind)
    {
        using RunningHost host = fx.StartHost(HostKind.VenusHost, "--isolation", isolation, "--max-objects", "100");

        DriverRun over = fx.RunThroughIcd(host, $"{fx.Clients.Executable("objcap")} 500 {kind}", TimeSpan.FromSeconds(60));
        output.WriteLine($"past the cap: {over}");
        Assert.True(over.Run.Succeeded, $"objcap 500 failed:\n{over}");
        Match created = Created.Match(over.Run.Stdout);
        Assert.True(created.Success, $"no creation line of the expected form:\n{over}");
        Assert.True(int.Parse(created.Groups[1].Value, CultureInfo.InvariantCulture) < 500 || created.Groups[2].Value == "all created");
        Match waited = Waited.Match(over.Run.Stdout);
        Assert.True(waited.Success, $"no vkDeviceWaitIdle line:\n{over}");
        Assert.Equal("VK_ERROR_DEVICE_LOST", waited.Groups[2].Value);
        Assert.True(int.Parse(waited.Groups[3].Value, CultureInfo.InvariantCulture) <= 1000, $"the loss took more than a second to reach the app:\n{over}");
        Assert.Contains("objcap: teardown ok", over.Run.Stdout);
        Assert.True(over.HostAliveAfter, $"the host died:\n{over}");
        Assert.Contains("object cap reached", host.ReadLog());
        AssertNothingLeft(over, kind);

        DriverRun under = fx.RunThroughIcd(host, $"{fx.Clients.Executable("objcap")} 50 {kind}", TimeSpan.FromSeconds(60));
        output.WriteLine($"under the cap: {under}");
        Assert.True(under.Run.Succeeded, $"objcap 50 failed:\n{under}");
        Assert.Contains("objcap: created 50 of 50, all created", under.Run.Stdout);
        Assert.Contains("objcap: vkDeviceWaitIdle -> 0 (VK_SUCCESS)", under.Run.Stdout);
        Assert.Contains("objcap: teardown ok", under.Run.Stdout);
        Assert.True(under.HostAliveAfter, $"the host died:\n{under}");
        AssertNothingLeft(under, kind);
    }

    /// <summary>The ICD's teardown line: no guest state of a destroyed object is left; for images, the cache was used.</summary>
    private static void AssertNothingLeft(DriverRun run, string kind)
    {
        Match m = Teardown.Match(run.Run.Stderr);
        Assert.True(m.Success, $"no vkDestroyDevice line in the ICD's log (VENUS_DEBUG=init):\n{run}");
        int N(int group) => int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);
        Assert.True(N(3) == 0 && N(4) == 0 && N(5) == 0, $"guest state left after every object was destroyed: {m.Value}\n{run}");
        if (kind == "image")
            Assert.True(N(1) >= 40 && N(2) == 1, $"images were not created from the requirements cache (one miss, then hits): {m.Value}\n{run}");
    }
}
