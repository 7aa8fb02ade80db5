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
/// checked), and run every default scene with a score.
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
        DriverRun ours = fx.RunThroughIcd(fx.SharedHost(HostKind.VenusHost), "timeout 11 glxgears", TimeSpan.FromSeconds(60), On(x));
        output.WriteLine(ours.Run.Stdout);
        Assert.True(ours.Run.ExitCode == 124, $"glxgears did not run until timeout stopped it (exit 124):\n{ours}");
        Assert.True(ours.HostAliveAfter, ours.ToString());
        double[] fps = Regex.Matches(ours.Run.Stdout, @"= ([0-9.]+) FPS").Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.True(fps.Length >= 1 && fps.All(f => f > 0), $"no frame rate from glxgears:\n{ours}");
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
