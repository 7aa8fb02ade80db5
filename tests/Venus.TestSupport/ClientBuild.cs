using System.Text;

namespace Venus.TestSupport;

/// <summary>The clients of tests/clients built in a private folder under the chroot's /tmp.</summary>
public sealed class ClientBuild : IDisposable
{
    /// <summary>How long compiling tests/clients inside the chroot may take.</summary>
    public static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(3);

    private readonly string _hostDir;

    private ClientBuild(string chrootDir, string hostDir, RunResult build)
    {
        ChrootDir = chrootDir;
        _hostDir = hostDir;
        BuildLog = build;
    }

    /// <summary>The build folder as the chroot sees it.</summary>
    public string ChrootDir { get; }

    public RunResult BuildLog { get; }

    /// <summary>Chroot path of the executable built from tests/clients/NAME.c.</summary>
    public string Executable(string name) => $"{ChrootDir}/{name}";

    /// <summary>Chroot path of the SPIR-V built from tests/clients/NAME.</summary>
    public string Spirv(string shaderFile) => $"{ChrootDir}/{shaderFile}.spv";

    /// <summary>
    /// Copies tests/clients into the chroot's /tmp, compiles every *.c with gcc (-lvulkan and the libraries of its "/* link: */" line) and every
    /// shader with glslangValidator -V, inside the chroot, so the binaries match its glibc and loader.
    /// </summary>
    public static ClientBuild Build(string repoRoot, string peersRoot, string folderPrefix = "venus-interop-clients")
    {
        string source = Path.Combine(repoRoot, "tests", "clients");
        if (!Directory.Exists(source))
            throw new InvalidOperationException($"{source} missing");
        string chrootDir = $"/tmp/{folderPrefix}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
        string hostDir = peersRoot + chrootDir;
        Directory.CreateDirectory(hostDir);
        foreach (string file in Directory.EnumerateFiles(source))
            File.Copy(file, Path.Combine(hostDir, Path.GetFileName(file)));

        var script = new StringBuilder();
        script.Append($"set -e; cd {chrootDir}; ");
        script.Append("for c in *.c; do [ -e \"$c\" ] || continue; echo \"gcc $c\"; ");
        // A client names the libraries it needs besides Vulkan in a "/* link: -lfoo */" line.
        script.Append("libs=$(sed -n 's,^/\\* link: \\(.*\\) \\*/$,\\1,p' \"$c\"); ");
        script.Append("gcc -std=c11 -O2 -g -Wall -Wextra -o \"${c%.c}\" \"$c\" -lvulkan $libs; done; ");
        // Ray-tracing shaders (rt*) need SPIR-V 1.4, hence Vulkan 1.2's target environment.
        script.Append("for s in *.comp *.vert *.frag *.rgen *.rmiss *.rchit; do [ -e \"$s\" ] || continue; echo \"glslangValidator $s\"; ");
        script.Append("case \"$s\" in rt*) env=\"--target-env vulkan1.2\";; *) env=\"\";; esac; ");
        script.Append("glslangValidator -V $env -o \"$s.spv\" \"$s\"; done");
        RunResult build = ProcessRun.Run("chroot", [peersRoot, "sh", "-c", script.ToString()], BuildTimeout);
        if (!build.Succeeded)
        {
            TryDelete(hostDir);
            throw new InvalidOperationException($"building tests/clients inside the chroot failed:\n{build}");
        }
        return new ClientBuild(chrootDir, hostDir, build);
    }

    public void Dispose() => TryDelete(_hostDir);

    private static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
