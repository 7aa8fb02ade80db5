using Xunit.Abstractions;

namespace Venus.Apps.Tests;

/// <summary>
/// tests/clients/render.c: an offscreen render pass (colour and depth attachments, vertex and index
/// buffers, a uniform buffer, push constants, a sampled texture uploaded through a staging buffer,
/// blending) copied into a host-visible buffer and hashed. lavapipe is deterministic, so the hash
/// through a guest driver must be native's.
/// </summary>
[Collection(AppsCollection.Name)]
public sealed class RenderTests(AppsFixture fx, ITestOutputHelper output)
{
    public static readonly IReadOnlyList<AppCase> Cases =
    [
        new("render", "128x96 textured quad and triangles", [],
            f => $"{f.Clients.Executable("render")} {f.Clients.Spirv("render.vert")} {f.Clients.Spirv("render.frag")}",
            TimeSpan.FromSeconds(60), new RenderHashLines()),
    ];

    public static TheoryData<string, GuestPath> Runs => AppMatrix.Of(Cases);

    [Theory]
    [MemberData(nameof(Runs))]
    public void OutputEqualsNative(string @case, GuestPath path) => AppComparison.Run(fx, AppMatrix.Find(Cases, @case), path, output);
}
