using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// tests/clients/transfer.c: image upload and download the way ffmpeg's hwupload/hwdownload do them,
/// every byte checked. "staging" maps host-visible buffers; "import" binds the buffers to the app's
/// own allocations through VK_EXT_external_memory_host, which this driver emulates
/// (HostPointerMemory): the app's bytes reach the device at submit, the device's come back when the
/// app sees the work finish (fence wait, fence status, timeline wait), and bytes the device does not
/// touch keep what the app wrote meanwhile. ffmpeg 7.1's download without that extension copies the
/// wrong way (its own bug) and returns all-zero frames, so a driver that lacks the extension cannot
/// serve ffmpeg. Native lavapipe is the control; Mesa's guest lacks the extension (exit 3).
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class TransferTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("staging")]
    [InlineData("import")]
    public void NativeLavapipeControl(string mode)
    {
        RunResult run = fx.RunNative(fx.Clients.Executable("transfer") + " " + mode, Timeout);
        output.WriteLine(run.ToString());
        AssertAllFrames(mode, run.Succeeded, run.Stdout, run.ToString());
    }

    [Theory]
    [InlineData("staging")]
    [InlineData("import")]
    public void ThroughOurIcdOnVenusHostEveryByteComesBack(string mode)
    {
        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        DriverRun run = fx.RunThroughIcd(host, fx.Clients.Executable("transfer") + " " + mode, Timeout);
        output.WriteLine(run.ToString());
        AssertAllFrames(mode, run.Run.Succeeded, run.Run.Stdout, run.ToString());
        if (mode == "import")
            Assert.Contains("minImportedHostPointerAlignment=4096", run.Run.Stdout);
    }

    [Fact]
    public void ThroughOurIcdOnVenusHostImportUnderTheValidationLayer()
    {
        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        DriverRun run = fx.RunThroughIcd(host, fx.Clients.Executable("transfer") + " import 64 48 4", Timeout,
            new Dictionary<string, string> { ["VK_INSTANCE_LAYERS"] = "VK_LAYER_KHRONOS_validation" });
        output.WriteLine(run.ToString());
        AssertAllFrames("import", run.Run.Succeeded, run.Run.Stdout, run.ToString(), defaultSize: false);
        Assert.Contains("transfer: mode=import frame=3 ok", run.Run.Stdout);
        Assert.DoesNotContain("Validation Error", run.Run.Stdout + run.Run.Stderr);
    }

    /// <summary>virglrenderer 1.1.0 on lavapipe cannot share host-visible memory: a clean error, never wrong bytes.</summary>
    [Theory]
    [InlineData("staging", "vkMapMemory failed: -5 (VK_ERROR_MEMORY_MAP_FAILED)")]
    [InlineData("import", "vkAllocateMemory failed: -1000072003 (VK_ERROR_INVALID_EXTERNAL_HANDLE)")]
    public void ThroughOurIcdOnVirglRendererFailsCleanly(string mode, string expected)
    {
        RunningHost host = fx.StartHost(HostKind.VirglRenderer);
        using (host)
        {
            DriverRun run = fx.RunThroughIcd(host, fx.Clients.Executable("transfer") + " " + mode, Timeout);
            output.WriteLine(run.ToString());
            Assert.Equal(2, run.Run.ExitCode);
            Assert.Contains(expected, run.Run.Stdout);
            Assert.DoesNotContain(" ok fnv=", run.Run.Stdout);
            Assert.Contains("venus: vkMapMemory: the host could not share memory", run.Run.Stderr);
        }
    }

    [Fact]
    public void MesasGuestLacksTheExtensionAndStagingWorks()
    {
        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        DriverRun import = fx.RunThroughMesa(host, fx.Clients.Executable("transfer") + " import", Timeout);
        output.WriteLine(import.ToString());
        Assert.Equal(3, import.Run.ExitCode);
        Assert.Contains("the device lacks VK_EXT_external_memory_host", import.Run.Stdout);
        DriverRun staging = fx.RunThroughMesa(host, fx.Clients.Executable("transfer") + " staging", Timeout);
        output.WriteLine(staging.ToString());
        AssertAllFrames("staging", staging.Run.Succeeded, staging.Run.Stdout, staging.ToString());
    }

    private static void AssertAllFrames(string mode, bool succeeded, string stdout, string describe, bool defaultSize = true)
    {
        Assert.True(succeeded, $"transfer {mode} failed:\n{describe}");
        // The pattern changes per frame: these are the FNV-1a hashes of frames 0..2 at 320x240.
        if (defaultSize)
        {
            Assert.Contains($"transfer: mode={mode} frame=0 ok fnv=429579c5", stdout);
            Assert.Contains($"transfer: mode={mode} frame=1 ok fnv=eef675c5", stdout);
            Assert.Contains($"transfer: mode={mode} frame=2 ok fnv=53dfa9c5", stdout);
        }
        Assert.Contains("transfer: all ok", stdout);
    }
}
