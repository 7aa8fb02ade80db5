using Venus.Native;

namespace Venus.Cli.Doctor;

/// <summary>
/// <c>venus doctor --host</c> where venus-host runs: the host's Vulkan driver(s) as the loader
/// gives them to venus-host (same environment: VK_DRIVER_FILES picks one), whether host-visible
/// memory can be shared with a guest (venus-host backs it with a memfd imported through
/// VK_EXT_external_memory_host), that memfds can be made here, and which venus-host binary is
/// installed and whether it is NativeAOT (its workers then start without a JIT).
/// </summary>
public static partial class HostDoctor
{
    public static DoctorReport Run(Func<string, string?> env, string? hostBinary = null, string loader = "libvulkan.so.1")
    {
        var report = new DoctorReport("host");
        CheckDrivers(report, LoaderTrial.Run(loader));
        CheckMemfd(report);
        CheckBinary(report, hostBinary ?? FindHostBinary(env));
        return report;
    }

    private static void CheckDrivers(DoctorReport report, TrialResult trial)
    {
        report.Facts["drivers"] = trial.Devices.Select(d => (object?)new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["index"] = d.Index, ["name"] = d.Name, ["api_version"] = d.ApiVersion, ["type"] = d.Type,
            ["driver_name"] = d.DriverName, ["extension_count"] = d.ExtensionCount,
            ["external_memory_host"] = d.Extensions.Contains("VK_EXT_external_memory_host"),
            ["external_memory_fd"] = d.Extensions.Contains("VK_KHR_external_memory_fd"),
            ["external_semaphore_fd"] = d.Extensions.Contains("VK_KHR_external_semaphore_fd"),
        }).ToList();
        if (trial.Error is not null)
        {
            report.Fail("driver", $"the host's Vulkan does not start: {trial.Error}",
                trial.LoaderVersion is null ? "install the Vulkan loader (Debian: libvulkan1) and a driver" : "check VK_DRIVER_FILES and the driver's installation (vulkaninfo shows the same)");
            return;
        }
        if (trial.Devices.Count == 0)
        {
            report.Fail("driver", "the loader finds no physical device on this host",
                "install a Vulkan driver (NVIDIA's, Mesa's radv/anv, or lavapipe for testing) or fix VK_DRIVER_FILES");
            return;
        }
        foreach (TrialDevice d in trial.Devices)
        {
            string what = $"device {d.Index}: {d.Name} ({d.Type}, Vulkan {d.ApiVersion}, driver {d.DriverName ?? "?"}, {d.ExtensionCount} extensions)";
            if (d.IsOurs || d.IsMesaVenus)
                report.Warn("driver", what + " is itself a Venus guest driver", "give venus-host a real driver: VK_DRIVER_FILES or venus-host --driver");
            else if (!d.Extensions.Contains("VK_EXT_external_memory_host"))
                report.Fail("driver", what + ": no VK_EXT_external_memory_host, so guests cannot map its host-visible memory",
                    "use a driver that offers it (NVIDIA, radv, anv and lavapipe do)");
            else
                report.Ok("driver", what + ": host-visible memory can be shared (VK_EXT_external_memory_host)");
        }
    }

    private static unsafe void CheckMemfd(DoctorReport report)
    {
        int fd;
        fixed (byte* name = "venus-doctor\0"u8)
            fd = Libc.MemfdCreate(name, Libc.MFD_CLOEXEC);
        if (fd < 0)
        {
            int errno = Libc.LastError;
            report.Facts["memfd"] = false;
            report.Fail("memfd", $"memfd_create fails (errno {errno}): venus-host shares rings, replies and memory through memfds",
                "run on Linux ≥ 3.17 without a seccomp policy that blocks memfd_create");
            return;
        }
        Libc.Close(fd);
        report.Facts["memfd"] = true;
        report.Ok("memfd", "memfd_create works");
    }

    private static void CheckBinary(DoctorReport report, string? binary)
    {
        report.Facts["venus_host"] = binary;
        if (binary is null)
        {
            report.Fail("venus-host", "no venus-host binary next to this program or on PATH",
                "install the package, or publish it: dotnet publish src/Venus.HostRenderer -r linux-x64 -p:PublishAot=true");
            return;
        }
        // A NativeAOT venus-host is one self-contained executable; a framework-dependent one has its
        // managed assembly (venus-host.dll) beside it and JIT-compiles each worker at start.
        bool jit = File.Exists(Path.ChangeExtension(binary, ".dll"));
        report.Facts["venus_host_native_aot"] = !jit;
        if (jit)
            report.Warn("venus-host", $"{binary} is framework-dependent (JIT): every worker process compiles at start",
                "use the NativeAOT build (the package's, or dotnet publish -p:PublishAot=true)");
        else
            report.Ok("venus-host", $"{binary} (NativeAOT: workers start without a JIT)");
    }

    private static string? FindHostBinary(Func<string, string?> env)
    {
        string beside = Path.Combine(AppContext.BaseDirectory, "venus-host");
        if (File.Exists(beside))
            return beside;
        foreach (string dir in (env("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, "venus-host");
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
