using Xunit.Abstractions;

namespace Venus.Apps.Tests;

/// <summary>
/// GStreamer 1.26's Vulkan elements (gst-plugins-bad): three 320x240 buffers of videotestsrc uploaded
/// (vulkanupload), passed through vulkanimageidentity or converted by vulkancolorconvert, downloaded
/// (vulkandownload) and hashed per buffer by checksumsink. <c>--no-fault</c>: a crash ends the run at once
/// (gst-launch's own SIGSEGV handler would otherwise spin until the timeout).
/// </summary>
[Collection(AppsCollection.Name)]
public sealed class GStreamerTests(AppsFixture fx, ITestOutputHelper output)
{
    private static readonly string[] Packages =
    [
        "gstreamer1.0-tools:usr/bin/gst-launch-1.0",
        "gstreamer1.0-plugins-base:usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstvideotestsrc.so",
        "gstreamer1.0-plugins-bad:usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstvulkan.so",
    ];

    private const int Width = 320, Height = 240;

    private static AppCase Case(string name, string input, string elements, string output, int outputBytes) =>
        new("gstreamer", name, Packages,
            _ => $"gst-launch-1.0 -q --no-fault videotestsrc num-buffers=3 ! video/x-raw,format={input},width={Width},height={Height} ! " +
                 $"{elements} ! video/x-raw,format={output} ! checksumsink",
            TimeSpan.FromSeconds(120), new ChecksumSinkLines(3, outputBytes));

    public static readonly IReadOnlyList<AppCase> Cases =
    [
        Case("BGRA vulkanimageidentity", "BGRA", "vulkanupload ! vulkanimageidentity ! vulkandownload", "BGRA", Width * Height * 4),
        Case("NV12 round trip", "NV12", "vulkanupload ! vulkandownload", "NV12", Width * Height * 3 / 2),
        Case("NV12 to RGBA vulkancolorconvert", "NV12",
            "vulkanupload ! vulkancolorconvert ! 'video/x-raw(memory:VulkanImage),format=RGBA' ! vulkandownload", "RGBA", Width * Height * 4),
        Case("RGBA to NV12 vulkancolorconvert", "RGBA",
            "vulkanupload ! vulkancolorconvert ! 'video/x-raw(memory:VulkanImage),format=NV12' ! vulkandownload", "NV12", Width * Height * 3 / 2),
    ];

    public static TheoryData<string, GuestPath> Runs => AppMatrix.Of(Cases);

    [Theory]
    [MemberData(nameof(Runs))]
    public void OutputEqualsNative(string @case, GuestPath path) => AppComparison.Run(fx, AppMatrix.Find(Cases, @case), path, output);
}
