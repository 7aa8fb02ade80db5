using System.Globalization;
using System.Text.RegularExpressions;
using Venus.TestSupport;
using Xunit.Abstractions;

namespace Venus.Apps.Tests;

/// <summary>
/// Presentation through our ICD (src/Venus.GuestIcd/Wsi), judged by what an X server (Xvfb in the
/// peers chroot) shows and by native lavapipe running the same program: trixie's vkcube (xcb and
/// xlib, present modes 0–2) with a screenshot taken while it runs, vkmark's default scenes with the
/// headless and xcb window systems, the validation layer over vkcube, and tests/clients/wsi.c
/// (resize → OUT_OF_DATE, destroyed window → SURFACE_LOST, 100 swapchains without a leak, the last
/// headless image read back). vkcube and vkmark also run through Mesa's venus guest on venus-host.
/// </summary>
[Collection(AppsCollection.Name)]
public sealed partial class WsiTests(AppsFixture fx, ITestOutputHelper output)
{
    /// <summary>vkcube clears to 0.2 grey: 51 in a UNORM format (it picks B8G8R8A8_UNORM).</summary>
    private static readonly (byte, byte, byte) CubeClear = (51, 51, 51);

    /// <summary>vkcube's window is 500×500; the cube covers about a quarter of it.</summary>
    private const int WindowPixels = 500 * 500;

    private static readonly TimeSpan AppTimeout = TimeSpan.FromSeconds(120);

    [GeneratedRegex(@"^\[(\w+)\] [^:]*: FPS: (\d+)", RegexOptions.Multiline)]
    private static partial Regex SceneLine();

    [GeneratedRegex(@"vkmark Score: (\d+)")]
    private static partial Regex ScoreLine();

    private delegate RunResult Runner(string command, IReadOnlyDictionary<string, string> environment);

    private Runner Native => (command, env) => fx.RunNative(command, AppTimeout, env);

    private Runner Ours(RunningHost host) => (command, env) =>
    {
        DriverRun run = fx.RunThroughIcd(host, command, AppTimeout, env);
        if (!run.HostAliveAfter)
            output.WriteLine($"host died:\n{run}");
        return run.Run;
    };

    /// <summary>
    /// Mesa 25.0.7's venus guest on venus-host. Its X11 present needs DRI3 unless the device is a
    /// software one, and Xvfb has no DRI3 (over vtest a guest could not hand the X server a dma-buf
    /// anyway), so its runs under Xvfb take Mesa's software present path (<c>MESA_VK_WSI_DEBUG=sw</c>:
    /// the image is copied to a mapped buffer and put with xcb_put_image). It offers a swapchain at all
    /// only because venus-host emulates VK_EXT_image_drm_format_modifier on lavapipe
    /// (src/Venus.HostRenderer/Families/DrmModifiers.cs).
    /// </summary>
    private Runner Mesa(RunningHost host) => (command, env) =>
    {
        var all = new Dictionary<string, string>(env) { ["MESA_VK_WSI_DEBUG"] = "sw" };
        foreach (var (key, value) in AppsFixture.MesaWorkaround)
            all[key] = value;
        DriverRun run = fx.RunThroughMesa(host, command, AppTimeout, all);
        if (!run.HostAliveAfter)
            output.WriteLine($"host died:\n{run}");
        return run.Run;
    };

    /// <summary>The cube's pixels on screen: neither black (no window) nor vkcube's clear colour.</summary>
    private static (PixelStats Stats, long Cube) CubeStats(Screenshot shot)
    {
        PixelStats stats = shot.Stats(0, 0, shot.Width, shot.Height, CubeClear, tolerance: 3);
        return (stats, stats.Pixels - stats.Black - stats.LikeReference);
    }

    /// <summary>
    /// Runs vkcube under a fresh Xvfb and screenshots the screen while it runs until the cube shows
    /// (or vkcube ends); returns the run and the last screenshot's statistics.
    /// </summary>
    private (RunResult Run, PixelStats Stats, long Cube) Vkcube(Runner runner, string arguments, string label)
    {
        using XvfbServer x = XvfbServer.Start(fx.PeersRoot);
        Task<RunResult> app = Task.Run(() => runner($"vkcube {arguments}", x.Environment));
        PixelStats stats = new(0, 0, 0, 0, 0, 0, 0);
        long cube = 0;
        string png = Path.Combine(Path.GetTempPath(), $"venus-wsi-{label}.png");
        while (!app.IsCompleted)
        {
            Thread.Sleep(300);
            if (app.IsCompleted)
                break;
            (stats, cube) = CubeStats(x.Screenshot(png));
            if (cube > WindowPixels / 20 && stats.LikeReference > WindowPixels / 5)
                break;
        }
        RunResult run = app.Result;
        output.WriteLine($"{label}: vkcube {arguments}: {run.Outcome} in {run.Wall.TotalSeconds:0.0} s; screen: {stats}; " +
                         $"{cube} cube pixels; picture {png}");
        return (run, stats, cube);
    }

    private static void AssertShowsCube(string label, (RunResult Run, PixelStats Stats, long Cube) r)
    {
        Assert.True(r.Run.Succeeded, $"{label}: vkcube did not exit 0:\n{r.Run}");
        Assert.True(r.Stats.LikeReference > WindowPixels / 5,
            $"{label}: the screen never showed vkcube's clear colour over a fifth of its window ({r.Stats}):\n{r.Run}");
        Assert.True(r.Cube > WindowPixels / 20,
            $"{label}: the screen never showed the cube ({r.Cube} pixels neither black nor the clear colour; {r.Stats}):\n{r.Run}");
    }

    public static TheoryData<string, int> VkcubeCases => new()
    {
        { "xcb", 0 }, { "xlib", 0 }, { "xcb", 1 }, { "xcb", 2 },
    };

    /// <summary>
    /// vkcube through our ICD on venus-host shows the cube as native lavapipe does: both screenshots
    /// hold vkcube's clear colour over its window and a cube of about the same size; FIFO paces.
    /// </summary>
    [Theory]
    [MemberData(nameof(VkcubeCases))]
    public void VkcubeShowsTheCubeLikeNative(string wsi, int presentMode)
    {
        // FIFO runs at the 60 Hz clock: 300 frames are 5 s; the others run as fast as they can.
        int frames = presentMode == 2 ? 300 : 1000;
        string arguments = $"--wsi {wsi} --present_mode {presentMode} --c {frames}";
        // The reference picture is native's with IMMEDIATE: lavapipe's own FIFO on Xvfb does not pace
        // (300 frames in 2 s), too short a run to be sure of a screenshot.
        var native = Vkcube(Native, $"--wsi {wsi} --present_mode 0 --c 2000", $"native-{wsi}");
        AssertShowsCube("native lavapipe", native);
        var ours = Vkcube(Ours(fx.SharedHost(HostKind.VenusHost)), arguments, $"ours-{wsi}-{presentMode}");
        AssertShowsCube("our ICD on venus-host", ours);
        double ratio = ours.Cube / (double)native.Cube;
        Assert.True(ratio is > 0.5 and < 2.0,
            $"the cube through our ICD covers {ours.Cube} pixels, native's {native.Cube}: not the same picture");
        if (presentMode == 2)
        {
            // FIFO paces at 60 Hz: 300 frames cannot take less than 5 s.
            Assert.True(ours.Run.Wall > TimeSpan.FromSeconds(4.9), $"300 FIFO frames took only {ours.Run.Wall.TotalSeconds:0.00} s: FIFO does not pace");
        }
    }

    /// <summary>
    /// vkcube through Mesa's venus guest on venus-host (the control for our host's side of
    /// presentation: swapchain images, dma-buf memory, the emulated LINEAR modifier) shows the cube
    /// as native lavapipe does.
    /// </summary>
    [Theory]
    [InlineData("xcb")]
    [InlineData("xlib")]
    public void VkcubeThroughMesasGuestShowsTheCubeLikeNative(string wsi)
    {
        var native = Vkcube(Native, $"--wsi {wsi} --present_mode 0 --c 2000", $"native-{wsi}");
        AssertShowsCube("native lavapipe", native);
        var mesa = Vkcube(Mesa(fx.SharedHost(HostKind.VenusHost)), $"--wsi {wsi} --c 1000", $"mesa-{wsi}");
        AssertShowsCube("Mesa's guest on venus-host", mesa);
        double ratio = mesa.Cube / (double)native.Cube;
        Assert.True(ratio is > 0.5 and < 2.0,
            $"the cube through Mesa's guest covers {mesa.Cube} pixels, native's {native.Cube}: not the same picture");
    }

    /// <summary>
    /// The fallback without MIT-SHM (a remote X server, a VM): VENUS_WSI_SHM=0 makes our ICD put the
    /// pixels with xcb_put_image in strips; the cube must show all the same.
    /// </summary>
    [Fact]
    public void VkcubeShowsTheCubeThroughXcbPutImage()
    {
        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        Runner putImage = (command, env) => Ours(host)(command, new Dictionary<string, string>(env) { ["VENUS_WSI_SHM"] = "0" });
        // 4000 frames: in IMMEDIATE mode 1000 went by in 1.1 s once (CI, heavy load), before the first
        // screenshot could see a frame.
        var ours = Vkcube(putImage, "--wsi xcb --present_mode 0 --c 4000", "ours-putimage");
        AssertShowsCube("our ICD on venus-host with xcb_put_image", ours);
        Assert.Contains(": xcb_put_image (VENUS_WSI_SHM=0)", ours.Run.Stderr);
    }

    /// <summary>
    /// virglrenderer 1.1.0 cannot share lavapipe's host-visible memory (see AppComparison): the
    /// swapchain's read-back buffer cannot be mapped, so vkcube must fail cleanly at that export, the
    /// host alive and no crash other than vkcube's own assert on the error.
    /// </summary>
    [Fact]
    public void VkcubeOnVirglRendererFailsCleanlyAtTheMemoryExport()
    {
        using XvfbServer x = XvfbServer.Start(fx.PeersRoot);
        RunningHost host = fx.SharedHost(HostKind.VirglRenderer);
        DriverRun run = fx.RunThroughIcd(host, "vkcube --c 50", AppTimeout, x.Environment);
        output.WriteLine($"{run.Run.Outcome}; last stderr: {RunResult.Tail(run.Run.Stderr, 3)}");
        if (run.Run.Succeeded)
            return; // a host that can share the memory: vkcube simply works
        Assert.False(run.Run.TimedOut, $"vkcube hung on virglrenderer:\n{run}");
        Assert.True(run.Run.Signal is null or "SIGABRT", $"vkcube crashed ({run.Run.Signal}) instead of failing cleanly:\n{run}");
        Assert.Contains(AppComparison.VirglMapRefusal, run.Run.Stderr);
    }

    /// <summary>The Khronos validation layer over vkcube through our ICD reports no error.</summary>
    [Fact]
    public void VkcubeUnderValidationReportsNoError()
    {
        const string layerManifest = "/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json";
        Assert.True(File.Exists(fx.PeersRoot + layerManifest), $"{layerManifest} missing: eng/peers.sh ensure installs vulkan-validationlayers");
        using XvfbServer x = XvfbServer.Start(fx.PeersRoot);
        var env = new Dictionary<string, string>(x.Environment)
        {
            ["VK_INSTANCE_LAYERS"] = "VK_LAYER_KHRONOS_validation",
            ["VK_LOADER_DEBUG"] = "layer",
        };
        foreach (string wsi in (string[])["xcb", "xlib"])
        {
            RunResult run = Ours(fx.SharedHost(HostKind.VenusHost))($"vkcube --wsi {wsi} --c 60", env);
            string all = run.Stdout + run.Stderr;
            int errors = Regex.Matches(all, "Validation Error").Count;
            output.WriteLine($"vkcube --wsi {wsi} under validation: {run.Outcome}, {errors} validation errors");
            Assert.True(all.Contains("Insert instance layer \"VK_LAYER_KHRONOS_validation\"", StringComparison.Ordinal),
                $"the loader did not insert the validation layer; the run was not validated:\n{run}");
            Assert.True(errors == 0, $"the validation layer reported {errors} errors for vkcube --wsi {wsi} through our ICD:\n{run}");
            Assert.True(run.Succeeded, $"vkcube --wsi {wsi} failed under validation:\n{run}");
        }
    }

    /// <summary>
    /// vkmark 2025.01's thirteen default scenes (half a second each) with --winsys headless and with
    /// --winsys xcb under Xvfb, through our ICD on venus-host: every scene prints its FPS and the run a
    /// score, as natively.
    /// </summary>
    [Theory]
    [InlineData("headless")]
    [InlineData("xcb")]
    public void VkmarkRunsEveryDefaultScene(string winsys)
    {
        using XvfbServer x = XvfbServer.Start(fx.PeersRoot);
        string command = $"vkmark --winsys {winsys} -b :duration=0.5";
        RunResult native = Native(command, x.Environment);
        RunResult ours = Ours(fx.SharedHost(HostKind.VenusHost))(command, x.Environment);
        RunResult mesa = Mesa(fx.SharedHost(HostKind.VenusHost))(command, x.Environment);
        var nativeScenes = SceneLine().Matches(native.Stdout).Select(m => m.Groups[1].Value).ToList();
        var ourScenes = SceneLine().Matches(ours.Stdout).Select(m => m.Groups[1].Value).ToList();
        var mesaScenes = SceneLine().Matches(mesa.Stdout).Select(m => m.Groups[1].Value).ToList();
        string Score(RunResult r) => ScoreLine().Match(r.Stdout) is { Success: true } m ? m.Groups[1].Value : "none";
        output.WriteLine($"vkmark --winsys {winsys}: native {nativeScenes.Count} scenes, score {Score(native)}; " +
                         $"our ICD on venus-host {ourScenes.Count} scenes, score {Score(ours)}; " +
                         $"Mesa's guest on venus-host {mesaScenes.Count} scenes, score {Score(mesa)}");
        Assert.True(native.Succeeded && nativeScenes.Count == 13, $"native vkmark did not run the 13 default scenes:\n{native}");
        foreach (var (who, run, scenes) in new[] { ("our ICD", ours, ourScenes), ("Mesa's guest", mesa, mesaScenes) })
        {
            Assert.True(run.Succeeded, $"vkmark through {who} on venus-host failed:\n{run}");
            Assert.Equal(nativeScenes, scenes);
            Assert.True(int.TryParse(Score(run), NumberStyles.None, CultureInfo.InvariantCulture, out int score) && score > 0,
                $"vkmark through {who} on venus-host printed no score:\n{run}");
        }
    }

    private RunResult Client(Runner runner, string arguments, IReadOnlyDictionary<string, string> env) =>
        runner($"{fx.Clients.Executable("wsi")} {arguments}", env);

    /// <summary>
    /// tests/clients/wsi.c resize: the window's pixels show the frames; a resize gives
    /// VK_ERROR_OUT_OF_DATE_KHR and a swapchain of the new size shows its frames; a destroyed window
    /// gives VK_ERROR_SURFACE_LOST_KHR. Native lavapipe passes the same client (but for the last part:
    /// its X11 path goes on answering VK_SUCCESS for a destroyed window, so it runs without "strict").
    /// </summary>
    [Fact]
    public void ResizeGivesOutOfDateAndDestroyedWindowSurfaceLost()
    {
        using XvfbServer x = XvfbServer.Start(fx.PeersRoot);
        RunResult native = Client(Native, "resize", x.Environment);
        output.WriteLine($"native:\n{native.Stdout}");
        Assert.True(native.Succeeded, $"the client fails natively, so it judges nothing:\n{native}");
        RunResult ours = Client(Ours(fx.SharedHost(HostKind.VenusHost)), "resize strict", x.Environment);
        output.WriteLine($"our ICD on venus-host:\n{ours.Stdout}");
        Assert.True(ours.Succeeded, $"resize / destroyed window through our ICD:\n{ours}");
        Assert.Contains("wsi: resize ok", ours.Stdout);
    }

    /// <summary>
    /// 100 swapchains made, used and destroyed on one window through our ICD, on a host of its own: no
    /// fd more in the app, in the host or in the X server (MIT-SHM segments), and the host's memory
    /// does not grow by what 100 leaked swapchains would hold. The host runs in thread mode: in worker
    /// mode the spare worker that replaces the taken one starts a second after the client arrives
    /// (VENUS_HOST_SPARE_DELAY_MS), and when that fell between the client's two counts its ~35 MiB
    /// and ~10 fds read as a leak (CI, 2026-12-07). The swapchain code is the same in both modes.
    /// </summary>
    [Fact]
    public void HundredSwapchainsLeakNothing()
    {
        using XvfbServer x = XvfbServer.Start(fx.PeersRoot);
        using RunningHost host = fx.StartHost(HostKind.VenusHost, "--isolation", "thread");
        RunResult run = Client(Ours(host), $"leak 100 {host.Pid} {x.Pid}", x.Environment);
        output.WriteLine(run.Stdout);
        Assert.True(run.Succeeded, $"100 swapchains through our ICD:\n{run}");
        Assert.Contains("wsi: leak ok", run.Stdout);
    }

    /// <summary>
    /// 30 frames to a VK_EXT_headless_surface through our ICD on venus-host; the last presented image,
    /// acquired again and copied to a buffer, holds the last frame's colour (natively too).
    /// </summary>
    [Fact]
    public void HeadlessLastImageHoldsTheLastFrame()
    {
        var env = new Dictionary<string, string>();
        RunResult native = Client(Native, "headless 30", env);
        Assert.True(native.Succeeded, $"the client fails natively, so it judges nothing:\n{native}");
        RunResult ours = Client(Ours(fx.SharedHost(HostKind.VenusHost)), "headless 30", env);
        output.WriteLine(ours.Stdout);
        Assert.True(ours.Succeeded, $"headless frames through our ICD:\n{ours}");
        Assert.Contains("wsi: headless ok", ours.Stdout);
    }
}
