using System.Diagnostics;
using System.Globalization;
using System.Text;
using Venus.Native;
using Venus.Transport.Virtgpu;

namespace Venus.Transport.Virtgpu.Tests;

/// <summary>A C struct of the uapi headers, its members as the header names them, and our C# twin.</summary>
/// <param name="PointerMembers">Members that are C pointers (no signedness to compare).</param>
public sealed record UapiStruct(Type CSharp, string CName, string[] Members, string[]? PointerMembers = null)
{
    public bool IsPointer(string member) => PointerMembers?.Contains(member) == true;
}

/// <summary>A macro of the uapi headers and the value our code uses for it.</summary>
public sealed record UapiConstant(string Macro, ulong Ours);

/// <summary>
/// What the tests compare with the kernel's own headers (drm/virtgpu_drm.h, drm/drm.h,
/// linux/virtio_gpu.h): the member lists are written here from the header, independently of the
/// C# field names, so a renamed, missing or extra field on either side shows up.
/// </summary>
public static class UapiExpectations
{
    public static readonly UapiStruct[] Structs =
    [
        new(typeof(DrmVirtgpuMap), "drm_virtgpu_map", ["offset", "handle", "pad"]),
        new(typeof(DrmVirtgpuExecbufferSyncobj), "drm_virtgpu_execbuffer_syncobj", ["handle", "flags", "point"]),
        new(typeof(DrmVirtgpuExecbuffer), "drm_virtgpu_execbuffer",
            ["flags", "size", "command", "bo_handles", "num_bo_handles", "fence_fd", "ring_idx", "syncobj_stride",
             "num_in_syncobjs", "num_out_syncobjs", "in_syncobjs", "out_syncobjs"]),
        new(typeof(DrmVirtgpuGetparam), "drm_virtgpu_getparam", ["param", "value"]),
        new(typeof(DrmVirtgpuResourceInfo), "drm_virtgpu_resource_info", ["bo_handle", "res_handle", "size", "blob_mem"]),
        new(typeof(DrmVirtgpu3dWait), "drm_virtgpu_3d_wait", ["handle", "flags"]),
        new(typeof(DrmVirtgpuGetCaps), "drm_virtgpu_get_caps", ["cap_set_id", "cap_set_ver", "addr", "size", "pad"]),
        new(typeof(DrmVirtgpuResourceCreateBlob), "drm_virtgpu_resource_create_blob",
            ["blob_mem", "blob_flags", "bo_handle", "res_handle", "size", "pad", "cmd_size", "cmd", "blob_id"]),
        new(typeof(DrmVirtgpuContextSetParam), "drm_virtgpu_context_set_param", ["param", "value"]),
        new(typeof(DrmVirtgpuContextInit), "drm_virtgpu_context_init", ["num_params", "pad", "ctx_set_params"]),
        new(typeof(DrmGemClose), "drm_gem_close", ["handle", "pad"]),
        new(typeof(DrmPrimeHandle), "drm_prime_handle", ["handle", "flags", "fd"]),
        new(typeof(DrmVersion), "drm_version",
            ["version_major", "version_minor", "version_patchlevel", "name_len", "name", "date_len", "date", "desc_len", "desc"],
            ["name", "date", "desc"]),
    ];

    public static readonly UapiConstant[] Constants =
    [
        // request numbers
        new("DRM_IOCTL_VIRTGPU_MAP", VirtgpuIoctl.Map),
        new("DRM_IOCTL_VIRTGPU_EXECBUFFER", VirtgpuIoctl.Execbuffer),
        new("DRM_IOCTL_VIRTGPU_GETPARAM", VirtgpuIoctl.Getparam),
        new("DRM_IOCTL_VIRTGPU_RESOURCE_INFO", VirtgpuIoctl.ResourceInfo),
        new("DRM_IOCTL_VIRTGPU_WAIT", VirtgpuIoctl.Wait),
        new("DRM_IOCTL_VIRTGPU_GET_CAPS", VirtgpuIoctl.GetCaps),
        new("DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB", VirtgpuIoctl.ResourceCreateBlob),
        new("DRM_IOCTL_VIRTGPU_CONTEXT_INIT", VirtgpuIoctl.ContextInit),
        new("DRM_IOCTL_VERSION", VirtgpuIoctl.Version),
        new("DRM_IOCTL_GEM_CLOSE", VirtgpuIoctl.GemClose),
        new("DRM_IOCTL_PRIME_HANDLE_TO_FD", VirtgpuIoctl.PrimeHandleToFd),
        new("DRM_IOCTL_PRIME_FD_TO_HANDLE", VirtgpuIoctl.PrimeFdToHandle),
        // the pieces they are made of
        new("DRM_IOCTL_BASE", VirtgpuIoctl.DrmIoctlBase),
        new("DRM_COMMAND_BASE", VirtgpuIoctl.DrmCommandBase),
        new("DRM_VIRTGPU_MAP", VirtgpuIoctl.DrmVirtgpuMap),
        new("DRM_VIRTGPU_EXECBUFFER", VirtgpuIoctl.DrmVirtgpuExecbuffer),
        new("DRM_VIRTGPU_GETPARAM", VirtgpuIoctl.DrmVirtgpuGetparam),
        new("DRM_VIRTGPU_RESOURCE_CREATE", VirtgpuIoctl.DrmVirtgpuResourceCreate),
        new("DRM_VIRTGPU_RESOURCE_INFO", VirtgpuIoctl.DrmVirtgpuResourceInfo),
        new("DRM_VIRTGPU_TRANSFER_FROM_HOST", VirtgpuIoctl.DrmVirtgpuTransferFromHost),
        new("DRM_VIRTGPU_TRANSFER_TO_HOST", VirtgpuIoctl.DrmVirtgpuTransferToHost),
        new("DRM_VIRTGPU_WAIT", VirtgpuIoctl.DrmVirtgpuWait),
        new("DRM_VIRTGPU_GET_CAPS", VirtgpuIoctl.DrmVirtgpuGetCaps),
        new("DRM_VIRTGPU_RESOURCE_CREATE_BLOB", VirtgpuIoctl.DrmVirtgpuResourceCreateBlob),
        new("DRM_VIRTGPU_CONTEXT_INIT", VirtgpuIoctl.DrmVirtgpuContextInit),
        // flags and parameters
        new("VIRTGPU_EXECBUF_FENCE_FD_IN", (ulong)VirtgpuExecbufferFlags.FenceFdIn),
        new("VIRTGPU_EXECBUF_FENCE_FD_OUT", (ulong)VirtgpuExecbufferFlags.FenceFdOut),
        new("VIRTGPU_EXECBUF_RING_IDX", (ulong)VirtgpuExecbufferFlags.RingIdx),
        new("VIRTGPU_EXECBUF_FLAGS", (ulong)(VirtgpuExecbufferFlags.FenceFdIn | VirtgpuExecbufferFlags.FenceFdOut | VirtgpuExecbufferFlags.RingIdx)),
        new("VIRTGPU_EXECBUF_SYNCOBJ_RESET", VirtgpuIoctl.ExecbufSyncobjReset),
        new("VIRTGPU_EXECBUF_SYNCOBJ_FLAGS", VirtgpuIoctl.ExecbufSyncobjReset),
        new("VIRTGPU_PARAM_3D_FEATURES", (ulong)VirtgpuParam.ThreeDFeatures),
        new("VIRTGPU_PARAM_CAPSET_QUERY_FIX", (ulong)VirtgpuParam.CapsetQueryFix),
        new("VIRTGPU_PARAM_RESOURCE_BLOB", (ulong)VirtgpuParam.ResourceBlob),
        new("VIRTGPU_PARAM_HOST_VISIBLE", (ulong)VirtgpuParam.HostVisible),
        new("VIRTGPU_PARAM_CROSS_DEVICE", (ulong)VirtgpuParam.CrossDevice),
        new("VIRTGPU_PARAM_CONTEXT_INIT", (ulong)VirtgpuParam.ContextInit),
        new("VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs", (ulong)VirtgpuParam.SupportedCapsetIds),
        new("VIRTGPU_PARAM_EXPLICIT_DEBUG_NAME", (ulong)VirtgpuParam.ExplicitDebugName),
        new("VIRTGPU_WAIT_NOWAIT", VirtgpuIoctl.WaitNoWait),
        new("VIRTGPU_BLOB_MEM_GUEST", (ulong)VirtgpuBlobMem.Guest),
        new("VIRTGPU_BLOB_MEM_HOST3D", (ulong)VirtgpuBlobMem.Host3d),
        new("VIRTGPU_BLOB_MEM_HOST3D_GUEST", (ulong)VirtgpuBlobMem.Host3dGuest),
        new("VIRTGPU_BLOB_FLAG_USE_MAPPABLE", (ulong)VirtgpuBlobFlags.UseMappable),
        new("VIRTGPU_BLOB_FLAG_USE_SHAREABLE", (ulong)VirtgpuBlobFlags.UseShareable),
        new("VIRTGPU_BLOB_FLAG_USE_CROSS_DEVICE", (ulong)VirtgpuBlobFlags.UseCrossDevice),
        new("VIRTGPU_CONTEXT_PARAM_CAPSET_ID", (ulong)VirtgpuContextParam.CapsetId),
        new("VIRTGPU_CONTEXT_PARAM_NUM_RINGS", (ulong)VirtgpuContextParam.NumRings),
        new("VIRTGPU_CONTEXT_PARAM_POLL_RINGS_MASK", (ulong)VirtgpuContextParam.PollRingsMask),
        new("VIRTGPU_CONTEXT_PARAM_DEBUG_NAME", (ulong)VirtgpuContextParam.DebugName),
        new("VIRTGPU_EVENT_FENCE_SIGNALED", VirtgpuIoctl.EventFenceSignaled),
        new("DRM_CLOEXEC", VirtgpuIoctl.DrmCloexec),
        new("DRM_RDWR", VirtgpuIoctl.DrmRdwr),
        new("VIRTIO_GPU_CAPSET_VENUS", VirtgpuIoctl.CapsetVenus),
        // libc's, as Venus.Native (the libc layer this transport uses) declares them
        new("O_RDWR", Libc.O_RDWR),
        new("O_CLOEXEC", Libc.O_CLOEXEC),
        new("PROT_READ", Libc.PROT_READ),
        new("PROT_WRITE", Libc.PROT_WRITE),
        new("MAP_SHARED", Libc.MAP_SHARED),
        new("POLLIN", (ulong)Libc.POLLIN),
        new("EINTR", Libc.EINTR),
        new("EAGAIN", Libc.EAGAIN),
        new("EBUSY", Libc.EBUSY),
        new("EINVAL", Libc.EINVAL),
        new("EBADF", Libc.EBADF),
    ];

    /// <summary>
    /// Macro families of drm/virtgpu_drm.h that must all appear in <see cref="Constants"/>, so that
    /// a newer header's additions are noticed.
    /// </summary>
    public static readonly string[] CoveredMacroPrefixes =
        ["DRM_VIRTGPU_", "DRM_IOCTL_VIRTGPU_", "VIRTGPU_PARAM_", "VIRTGPU_CONTEXT_PARAM_", "VIRTGPU_BLOB_", "VIRTGPU_EXECBUF_", "VIRTGPU_WAIT_", "VIRTGPU_EVENT_"];

    /// <summary>Macros of those families this transport leaves out on purpose (ioctls Venus never uses, §7).</summary>
    public static readonly string[] NotModelled =
    [
        "DRM_IOCTL_VIRTGPU_RESOURCE_CREATE", "DRM_IOCTL_VIRTGPU_TRANSFER_FROM_HOST", "DRM_IOCTL_VIRTGPU_TRANSFER_TO_HOST",
    ];

    /// <summary>The C program that prints every size, offset and constant above, from the headers alone.</summary>
    public static string ProbeSource()
    {
        var c = new StringBuilder();
        c.Append("""
            #include <stdio.h>
            #include <stddef.h>
            #include <fcntl.h>
            #include <errno.h>
            #include <poll.h>
            #include <sys/mman.h>
            #include <drm/drm.h>
            #include <drm/virtgpu_drm.h>
            #include <linux/virtio_gpu.h>

            int main(void)
            {

            """);
        foreach (UapiStruct s in Structs)
        {
            c.Append($"    printf(\"sizeof {s.CName} %zu\\n\", sizeof(struct {s.CName}));\n");
            foreach (string m in s.Members)
            {
                string signedness = s.IsPointer(m) ? "-1" : $"((__typeof__(((struct {s.CName} *)0)->{m}))-1 < 0)";
                c.Append($"    printf(\"member {s.CName} {m} %zu %zu %d\\n\", offsetof(struct {s.CName}, {m}), " +
                         $"sizeof(((struct {s.CName} *)0)->{m}), (int){signedness});\n");
            }
        }
        foreach (UapiConstant k in Constants)
            c.Append($"    printf(\"const {k.Macro} %llu\\n\", (unsigned long long)({k.Macro}));\n");
        c.Append("    return 0;\n}\n");
        return c.ToString();
    }
}

/// <summary>What gcc said about the headers.</summary>
public sealed class UapiProbeResult
{
    public Dictionary<string, long> Sizes { get; } = [];
    public Dictionary<(string Struct, string Member), (long Offset, long Size, int Signed)> Members { get; } = [];
    public Dictionary<string, ulong> Constants { get; } = [];
    /// <summary>Every macro the headers define (<c>gcc -dM -E</c>), name to replacement text.</summary>
    public Dictionary<string, string> Macros { get; } = [];

    public const string MacroSeparator = "----- macros -----";

    public static UapiProbeResult Parse(string stdout)
    {
        var r = new UapiProbeResult();
        bool macros = false;
        foreach (string raw in stdout.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.Length == 0)
                continue;
            if (line == MacroSeparator)
            {
                macros = true;
                continue;
            }
            string[] w = line.Split(' ', macros ? 3 : 8);
            if (macros)
            {
                if (w.Length >= 2 && w[0] == "#define" && !w[1].Contains('('))
                    r.Macros[w[1]] = w.Length > 2 ? w[2] : "";
                continue;
            }
            switch (w[0])
            {
                case "sizeof":
                    r.Sizes[w[1]] = long.Parse(w[2], CultureInfo.InvariantCulture);
                    break;
                case "member":
                    r.Members[(w[1], w[2])] = (long.Parse(w[3], CultureInfo.InvariantCulture),
                        long.Parse(w[4], CultureInfo.InvariantCulture), int.Parse(w[5], CultureInfo.InvariantCulture));
                    break;
                case "const":
                    r.Constants[w[1]] = ulong.Parse(w[2], CultureInfo.InvariantCulture);
                    break;
                default:
                    throw new FormatException($"unexpected probe line '{line}'");
            }
        }
        return r;
    }
}

/// <summary>
/// Compiles <see cref="UapiExpectations.ProbeSource"/> with gcc in the Debian trixie peers chroot
/// (kernel uapi headers 6.12, the guest VM's kernel), runs it, and lists the headers' macros. Any
/// failure (no chroot, no gcc, no headers, the probe does not build) is kept and rethrown by
/// <see cref="Require"/>: the tests that need the probe fail with it, they never skip.
/// </summary>
public sealed class UapiProbeFixture
{
    private static readonly TimeSpan GccTimeout = TimeSpan.FromSeconds(120);

    private static readonly string[] NeededInChroot =
        ["usr/bin/gcc", "usr/include/drm/drm.h", "usr/include/drm/virtgpu_drm.h", "usr/include/linux/virtio_gpu.h", "usr/include/linux/version.h"];

    public UapiProbeFixture()
    {
        var clock = Stopwatch.StartNew();
        try
        {
            Source = UapiExpectations.ProbeSource();
            string root = PeersEnvironment.EnsureChroot(PeersEnvironment.FindRepoRoot());
            foreach (string needed in NeededInChroot)
            {
                if (!File.Exists(Path.Combine(root, needed)))
                    throw new InvalidOperationException(
                        $"the peers chroot at {root} lacks /{needed} (needs packages gcc, libc6-dev, linux-libc-dev; remove it and run eng/peers.sh ensure)");
            }
            ChrootRoot = root;
            ProcessResult r = RunInChroot(root, new Dictionary<string, string>
            {
                ["probe.c"] = Source,
                ["macros.c"] = "#include <drm/virtgpu_drm.h>\n",
                ["version.c"] = "#include <linux/version.h>\nLINUX_VERSION_MAJOR LINUX_VERSION_PATCHLEVEL\n",
            }, "gcc -std=gnu11 -O0 -Wall -Werror -o probe probe.c && ./probe && " +
               $"echo '{UapiProbeResult.MacroSeparator}' && gcc -dM -E macros.c && echo \"headers $(gcc -E -P version.c | tail -n 1)\"");
            if (r.ExitCode != 0)
                throw new InvalidOperationException($"compiling or running the uapi probe in the peers chroot failed: {r}");
            string[] lines = r.Stdout.TrimEnd('\n').Split('\n');
            string headers = lines[^1];
            if (!headers.StartsWith("headers ", StringComparison.Ordinal))
                throw new InvalidOperationException($"the probe's last line should name the header version: '{headers}'");
            HeaderVersion = headers["headers ".Length..].Trim().Replace(' ', '.');
            Probe = UapiProbeResult.Parse(string.Join('\n', lines[..^1]));
        }
        catch (Exception e)
        {
            Error = e;
        }
        Elapsed = clock.Elapsed;
    }

    public Exception? Error { get; }
    public TimeSpan Elapsed { get; }
    public string Source { get; } = "";
    public string ChrootRoot { get; } = "";
    /// <summary>"6.12": LINUX_VERSION_MAJOR.LINUX_VERSION_PATCHLEVEL of the chroot's headers.</summary>
    public string HeaderVersion { get; } = "";
    public UapiProbeResult Probe { get; } = null!;

    public UapiProbeFixture Require()
    {
        if (Error is not null)
            throw new InvalidOperationException($"the uapi header probe could not be run: {Error.Message}", Error);
        return this;
    }

    private static ProcessResult RunInChroot(string root, IReadOnlyDictionary<string, string> files, string command)
    {
        string name = $"venus-virtgpu-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
        string hostDir = Path.Combine(root, "tmp", name);
        Directory.CreateDirectory(hostDir);
        try
        {
            foreach ((string file, string text) in files)
                File.WriteAllText(Path.Combine(hostDir, file), text);
            return ProcessRunner.Run("chroot", [root, "sh", "-c", $"cd /tmp/{name} && {command}"], GccTimeout);
        }
        finally
        {
            try { Directory.Delete(hostDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class UapiProbeCollection : ICollectionFixture<UapiProbeFixture>
{
    public const string Name = "uapi header probe";
}
