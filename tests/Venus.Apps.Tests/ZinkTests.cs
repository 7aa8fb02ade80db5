using System.Globalization;
using System.Text.RegularExpressions;
using Venus.TestSupport;
using Xunit.Abstractions;

namespace Venus.Apps.Tests;

/// <summary>
/// OpenGL through trixie's Zink (Mesa 25.0.7's GL on Vulkan) under Xvfb, on our ICD over venus-host,
/// with native lavapipe's Zink as the judge. <c>LIBGL_ALWAYS_SOFTWARE=1 GALLIUM_DRIVER=zink</c> takes
/// Mesa's software window path. glxinfo must report Zink on our device and OpenGL 4.6; glxgears must run and
/// report a frame rate; glmark2 must validate the same scenes as natively (pixels read back and
/// checked), and run every default scene with a score. Zink's kopper path (its own swapchain on ours)
/// must show glxgears' gears on the X server like native lavapipe's kopper.
/// </summary>
[Collection(AppsCollection.Name)]
public sealed class ZinkTests(AppsFixture fx, ITestOutputHelper output)
{
    private static readonly string[] Packages =
        ["mesa-utils:usr/bin/glxgears", "glmark2-x11:usr/bin/glmark2"];

    private static readonly Dictionary<string, string> ZinkSoftware = new()
    {
        ["LIBGL_ALWAYS_SOFTWARE"] = "1",
        ["GALLIUM_DRIVER"] = "zink",
        ["vblank_mode"] = "0",
    };

    private Dictionary<string, string> On(XvfbServer x) => new(ZinkSoftware) { ["DISPLAY"] = $":{x.Display.ToString(CultureInfo.InvariantCulture)}" };

    [Fact]
    public void GlxinfoReportsZinkOnOurDevice()
    {
        output.WriteLine(fx.EnsurePackages("zink", Packages));
        using XvfbServer x = XvfbServer.Start(fx.PeersRoot);
        RunResult native = fx.RunNative("glxinfo -B", TimeSpan.FromSeconds(60), On(x));
        DriverRun ours = fx.RunThroughIcd(fx.SharedHost(HostKind.VenusHost), "glxinfo -B", TimeSpan.FromSeconds(60), On(x));
        output.WriteLine($"native: {Renderer(native.Stdout)}\nours:   {Renderer(ours.Run.Stdout)}");
        Assert.True(native.Succeeded, native.ToString());
        Assert.True(ours.Run.Succeeded, ours.ToString());
        Assert.StartsWith("zink Vulkan 1.", Renderer(native.Stdout));
        Assert.Contains("llvmpipe", Renderer(native.Stdout));
        // zink names the device's Vulkan version: lavapipe's own through venus-host.
        Assert.StartsWith(Renderer(native.Stdout)[..Renderer(native.Stdout).IndexOf('(')] + "(Virtio-GPU Venus.NET (llvmpipe", Renderer(ours.Run.Stdout));
        Assert.Equal(CoreVersion(native.Stdout), CoreVersion(ours.Run.Stdout));
        Assert.StartsWith("4.6", CoreVersion(ours.Run.Stdout));
        Assert.True(ours.HostAliveAfter, ours.ToString());
    }

    [Fact]
    public void GlxgearsRunsThroughOurIcd()
    {
        output.WriteLine(fx.EnsurePackages("zink", Packages));
        using XvfbServer x = XvfbServer.Start(fx.PeersRoot);
        // 11 s: glxgears prints its frame rate every 5 s, and runs until timeout stops it (exit 124).
        var env = On(x);
        env["VENUS_DEBUG"] = "init";
        DriverRun ours = fx.RunThroughIcd(fx.SharedHost(HostKind.VenusHost), "timeout 11 glxgears", TimeSpan.FromSeconds(60), env);
        output.WriteLine(ours.Run.Stdout);
        // Zink on lavapipe keeps its descriptors in sets (src/Venus.GuestIcd/Runtime/AppWorkarounds.cs).
        Assert.Contains("device extension VK_KHR_push_descriptor left out: Zink on lavapipe", ours.Run.Stderr);
        Assert.True(ours.Run.ExitCode == 124, $"glxgears did not run until timeout stopped it (exit 124):\n{ours}");
        Assert.True(ours.HostAliveAfter, ours.ToString());
        double[] fps = Regex.Matches(ours.Run.Stdout, @"= ([0-9.]+) FPS").Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.True(fps.Length >= 1 && fps.All(f => f > 0), $"no frame rate from glxgears:\n{ours}");
    }

    /// <summary>
    /// Zink's own window path, kopper: <c>MESA_LOADER_DRIVER_OVERRIDE=zink</c> with
    /// <c>LIBGL_ALWAYS_SOFTWARE=1</c> makes Mesa's GLX hand the window to Zink, which presents through a
    /// VK_KHR_xcb_surface swapchain — ours (src/Venus.GuestIcd/Wsi). The software path leaves the Xvfb
    /// window black (natively too), so gears on the screen show that the frames came through a
    /// swapchain: a screenshot while glxgears runs must show its red, green and blue gears, about as
    /// many pixels of each as native lavapipe's kopper shows.
    /// </summary>
    [Fact]
    public void GlxgearsPresentsThroughKopperOnOurSwapchain()
    {
        output.WriteLine(fx.EnsurePackages("zink", Packages));
        GearPixels native = KopperGears(env => fx.RunNative("timeout 10 glxgears", TimeSpan.FromSeconds(60), env), "native");
        GearPixels ours = KopperGears(env =>
        {
            DriverRun run = fx.RunThroughIcd(fx.SharedHost(HostKind.VenusHost), "timeout 10 glxgears", TimeSpan.FromSeconds(60), env);
            Assert.True(run.HostAliveAfter, run.ToString());
            return run.Run;
        }, "ours");
        foreach ((string label, GearPixels g) in (ReadOnlySpan<(string, GearPixels)>)[("native lavapipe", native), ("our ICD on venus-host", ours)])
        {
            Assert.True(g.Run.ExitCode == 124, $"{label}: glxgears did not run until timeout stopped it (exit 124):\n{g.Run}");
            Assert.True(g.Red > 1000 && g.Green > 1000 && g.Blue > 1000, $"{label}: the screen does not show the three gears ({g}):\n{g.Run}");
        }
        foreach ((string colour, long n, long o) in (ReadOnlySpan<(string, long, long)>)[("red", native.Red, ours.Red), ("green", native.Green, ours.Green), ("blue", native.Blue, ours.Blue)])
            Assert.True(o > n / 2 && o < n * 2, $"{colour} gear: {o} pixels through our ICD, {n} natively: not the same picture");
    }

    private sealed record GearPixels(RunResult Run, long Red, long Green, long Blue)
    {
        public override string ToString() => $"{Red} red, {Green} green, {Blue} blue pixels";
    }

    /// <summary>Runs glxgears through kopper under a fresh Xvfb and screenshots until its three gears show (or it ends).</summary>
    private GearPixels KopperGears(Func<Dictionary<string, string>, RunResult> run, string label)
    {
        using XvfbServer x = XvfbServer.Start(fx.PeersRoot);
        Dictionary<string, string> env = On(x);
        env["MESA_LOADER_DRIVER_OVERRIDE"] = "zink";
        Task<RunResult> app = Task.Run(() => run(env));
        long red = 0, green = 0, blue = 0;
        string png = Path.Combine(Path.GetTempPath(), $"venus-zink-kopper-{label}.png");
        while (!app.IsCompleted)
        {
            Thread.Sleep(500);
            if (app.IsCompleted)
                break;
            (red, green, blue) = Gears(x.Screenshot(png));
            if (red > 1000 && green > 1000 && blue > 1000)
                break;
        }
        var result = new GearPixels(app.Result, red, green, blue);
        output.WriteLine($"{label}: glxgears through kopper: {result.Run.Outcome}; screen: {result}; picture {png}");
        return result;
    }

    /// <summary>Pixels whose red, green or blue channel leads the other two by more than 60: glxgears' three gears on black.</summary>
    private static (long Red, long Green, long Blue) Gears(Screenshot shot)
    {
        long red = 0, green = 0, blue = 0;
        byte[] p = shot.Rgb;
        for (int i = 0; i + 2 < p.Length; i += 3)
        {
            int r = p[i], g = p[i + 1], b = p[i + 2];
            if (r > g + 60 && r > b + 60) red++;
            else if (g > r + 60 && g > b + 60) green++;
            else if (b > r + 60 && b > g + 60) blue++;
        }
        return (red, green, blue);
    }

    /// <summary>
    /// The rendering judge: <c>glmark2 --validate</c> draws each default scene and checks pixels it
    /// reads back (glReadPixels) against what the scene must show. (Screenshots cannot judge here:
    /// Zink's software window path under Xvfb leaves the window black, natively too.)
    /// </summary>
    [Fact]
    public void Glmark2ValidatesLikeNativeThroughOurIcd()
    {
        output.WriteLine(fx.EnsurePackages("zink", Packages));
        using XvfbServer x = XvfbServer.Start(fx.PeersRoot);
        const string Validate = "glmark2 --validate";
        RunResult native = fx.RunNative(Validate, TimeSpan.FromSeconds(300), On(x));
        DriverRun ours = fx.RunThroughIcd(fx.SharedHost(HostKind.VenusHost), Validate, TimeSpan.FromSeconds(300), On(x));
        Assert.True(native.Succeeded, native.ToString());
        Assert.True(ours.Run.Succeeded, ours.ToString());
        string[] nativeLines = Validations(native.Stdout), ourLines = Validations(ours.Run.Stdout);
        int success = nativeLines.Count(l => l.EndsWith("Validation: Success", StringComparison.Ordinal));
        output.WriteLine($"native: {nativeLines.Length} scenes, {success} validated; ours: {ourLines.Length} scenes, " +
                         $"{ourLines.Count(l => l.EndsWith("Validation: Success", StringComparison.Ordinal))} validated");
        foreach (string l in ourLines) output.WriteLine(l);
        Assert.True(success >= 20, $"native glmark2 validated {success} scenes:\n{native}");
        Assert.Equal(nativeLines.Length, ourLines.Length);
        for (int i = 0; i < nativeLines.Length; i++)
        {
            if (ourLines[i].StartsWith(KnownPulsarFailure, StringComparison.Ordinal))
            {
                // Known bug (README "Zink"): fails through our ICD, validates natively and through Mesa's
                // guest on the same host. This assertion fails once it is fixed: then drop the exception.
                Assert.Equal(KnownPulsarFailure + ": Validation: Success", nativeLines[i]);
                Assert.Equal(KnownPulsarFailure + ": Validation: Failure", ourLines[i]);
                continue;
            }
            Assert.Equal(nativeLines[i], ourLines[i]);
        }
    }

    private const string KnownPulsarFailure = "[pulsar] light=false:quads=5:texture=false";

    [Fact]
    public void Glmark2RunsEveryDefaultSceneThroughOurIcd()
    {
        output.WriteLine(fx.EnsurePackages("zink", Packages));
        using XvfbServer x = XvfbServer.Start(fx.PeersRoot);
        // Every default scene for half a second each: the scene list and the score, not the speed.
        const string Glmark2 = "glmark2 -s 300x300 -b :duration=0.5";
        RunResult native = fx.RunNative(Glmark2, TimeSpan.FromSeconds(300), On(x));
        DriverRun ours = fx.RunThroughIcd(fx.SharedHost(HostKind.VenusHost), Glmark2, TimeSpan.FromSeconds(300), On(x));
        Assert.True(native.Succeeded, native.ToString());
        Assert.True(ours.Run.Succeeded, ours.ToString());
        string[] nativeScenes = Scenes(native.Stdout), ourScenes = Scenes(ours.Run.Stdout);
        output.WriteLine($"native: {nativeScenes.Length} scenes, score {Score(native.Stdout)} ({native.Wall.TotalSeconds:0.0} s)");
        output.WriteLine($"ours:   {ourScenes.Length} scenes, score {Score(ours.Run.Stdout)} ({ours.Run.Wall.TotalSeconds:0.0} s)");
        Assert.True(nativeScenes.Length >= 20, $"native glmark2 ran {nativeScenes.Length} scenes:\n{native}");
        Assert.Equal(nativeScenes, ourScenes);
        Assert.True(Score(ours.Run.Stdout) > 0, ours.ToString());
    }

    private static string Renderer(string glxinfo) => Line(glxinfo, "OpenGL renderer string: ");
    private static string CoreVersion(string glxinfo) => Line(glxinfo, "OpenGL core profile version string: ");

    private static string Line(string text, string prefix) =>
        text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))?[prefix.Length..] ?? "(none)";

    /// <summary>Each scene line's name and options ("[build] use-vbo=false"), in order.</summary>
    private static string[] Scenes(string glmark2) =>
        Regex.Matches(glmark2, @"^(\[[a-z0-9-]+\] .*?): FPS: \d+", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToArray();

    private static int Score(string glmark2) =>
        Regex.Match(glmark2, @"glmark2 Score: (\d+)") is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;

    private static string[] Validations(string glmark2) =>
        glmark2.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('[') && l.Contains(": Validation: ", StringComparison.Ordinal)).ToArray();
}
