using Xunit.Abstractions;

namespace Venus.Apps.Tests;

/// <summary>
/// ggml 1.0's <c>test-backend-ops</c> (libggml1 from trixie-backports) on its Vulkan backend
/// (libggml1-backend-vulkan): it runs each op on Vulkan0 and on the CPU and compares them itself. A
/// few small cases per op (seconds on lavapipe); the per-case results and the pass count must be
/// native's, where every case passes.
/// </summary>
[Collection(AppsCollection.Name)]
public sealed class GgmlTests(AppsFixture fx, ITestOutputHelper output)
{
    private const string TestBackendOps = "/usr/libexec/x86_64-linux-gnu/ggml/1/test-backend-ops";

    private static readonly string[] Packages =
    [
        "libggml1/trixie-backports:" + TestBackendOps[1..],
        "libggml1-backend-vulkan/trixie-backports:usr/lib/x86_64-linux-gnu/ggml/backends1/libggml-vulkan.so",
    ];

    private static AppCase Case(string op, string parameters) =>
        new("ggml", op, Packages,
            _ => $"GGML_VK_VISIBLE_DEVICES=0 {TestBackendOps} test -b Vulkan0 -o {op} -p '{parameters}'",
            TimeSpan.FromSeconds(300), new BackendOpsLines());

    public static readonly IReadOnlyList<AppCase> Cases =
    [
        Case("ADD", @"^type=f32,ne=\[10,5,4,3\],nr=\[2,1,1,1\]"),
        Case("MUL_MAT", @"^type_a=f(32|16),type_b=f32,m=16,n=1,k=256,bs=\[1,1\],nr=\[1,1\]"),
        Case("SOFT_MAX", @"^type=f32,ne=\[(16|15),(16|15),1,1\],mask=[01],sinks=0,m_prec=f32,nr23=\[1,1\],scale=1.000000,max_bias=0.000000"),
        Case("ROPE", @"^type=f32,ne_a=\[128,32,2,1\],n_dims=128,mode=0,n_ctx=512,fs=1.000000,ef=0.000000,af=1.000000,ff=0,v=0,inplace=0"),
        Case("CPY", @"^type_src=f32,type_dst=f16,ne_src=\[256,(4,4,4|2,3,4)\],permute_src=\[(0,0,0,0|0,2,1,3)\]"),
        Case("RMS_NORM", @"^type=f32,ne=\[(64|33),5,4,3\],v=[01],eps=0.000000,inplace=0"),
        Case("GET_ROWS", @"^type=(f32|f16|q4_0),n=256,m=5,r=4,be1=1,be2=1,v=[01]"),
    ];

    public static TheoryData<string, GuestPath> Runs => AppMatrix.Of(Cases);

    [Theory]
    [MemberData(nameof(Runs))]
    public void OutputEqualsNative(string @case, GuestPath path) => AppComparison.Run(fx, AppMatrix.Find(Cases, @case), path, output);
}
