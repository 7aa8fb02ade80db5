using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Venus.HostRenderer.Native;

/// <summary>
/// SPIR-V a guest hands to the driver is checked first: the Vulkan spec makes invalid SPIR-V
/// undefined behaviour, and drivers compile whatever they get (lavapipe faulted in
/// vkCreateGraphicsPipelines and vkCreateComputePipelines on modules the lavapipe fuzz target had
/// mutated). <see cref="Check"/> runs our own structural walk (header, version, id bound, every
/// instruction's word count inside the module, entry points) and then SPIRV-Tools' validator
/// (spvValidateWithOptions, the C API) for the target environment of the device's Vulkan version.
/// The library is libSPIRV-Tools-shared.so where a distribution ships it, else Debian's
/// libshaderc.so.1, which exports the same C API; without either only the structural walk runs
/// (<see cref="Status"/> says which, logged at start). Results of valid modules are cached by a
/// SHA-256 of the environment and the code, so an app's repeated modules pay once.
/// </summary>
internal static unsafe class SpirvTools
{
    const uint Magic = 0x07230203;
    /// <summary>SPIR-V's universal limit on the id bound (4,194,303).</summary>
    const uint MaxIdBound = 0x3FFFFF;
    const int MaxCached = 4096;

    static readonly string[] Libraries = ["libSPIRV-Tools-shared.so", "libshaderc.so.1", "libshaderc_shared.so.1"];

    static readonly delegate* unmanaged<int, nint> s_contextCreate;
    static readonly delegate* unmanaged<nint> s_optionsCreate;
    static readonly delegate* unmanaged<nint, byte, void> s_optionsSkipBlockLayout;
    static readonly delegate* unmanaged<nint, byte, void> s_optionsAllowLocalSizeId;
    static readonly delegate* unmanaged<nint, nint, SpvBinary*, nint*, int> s_validate;
    static readonly delegate* unmanaged<nint, void> s_diagnosticDestroy;
    static readonly delegate* unmanaged<byte*, int*, byte> s_parseTargetEnv;
    static readonly nint s_options;
    static readonly ConcurrentDictionary<int, nint> s_contexts = new();
    static readonly ConcurrentDictionary<string, byte> s_valid = new();

    /// <summary>What checks SPIR-V: the library's name, or why only the structural walk runs.</summary>
    public static string Status { get; }

    /// <summary>Whether SPIRV-Tools' validator was found.</summary>
    public static bool HasValidator => s_validate != null;

    [StructLayout(LayoutKind.Sequential)]
    struct SpvBinary
    {
        public uint* Code;
        public nuint WordCount;
    }

    static SpirvTools()
    {
        string? loaded = null;
        foreach (var name in Libraries)
        {
            if (!NativeLibrary.TryLoad(name, out nint lib)) continue;
            nint create, optCreate, skip, localSizeId, validate, diagDestroy, parse;
            if (NativeLibrary.TryGetExport(lib, "spvContextCreate", out create)
                && NativeLibrary.TryGetExport(lib, "spvValidatorOptionsCreate", out optCreate)
                && NativeLibrary.TryGetExport(lib, "spvValidatorOptionsSetSkipBlockLayout", out skip)
                && NativeLibrary.TryGetExport(lib, "spvValidatorOptionsSetAllowLocalSizeId", out localSizeId)
                && NativeLibrary.TryGetExport(lib, "spvValidateWithOptions", out validate)
                && NativeLibrary.TryGetExport(lib, "spvDiagnosticDestroy", out diagDestroy)
                && NativeLibrary.TryGetExport(lib, "spvParseTargetEnv", out parse))
            {
                s_contextCreate = (delegate* unmanaged<int, nint>)create;
                s_optionsCreate = (delegate* unmanaged<nint>)optCreate;
                s_optionsSkipBlockLayout = (delegate* unmanaged<nint, byte, void>)skip;
                s_optionsAllowLocalSizeId = (delegate* unmanaged<nint, byte, void>)localSizeId;
                s_validate = (delegate* unmanaged<nint, nint, SpvBinary*, nint*, int>)validate;
                s_diagnosticDestroy = (delegate* unmanaged<nint, void>)diagDestroy;
                s_parseTargetEnv = (delegate* unmanaged<byte*, int*, byte>)parse;
                loaded = name;
                break;
            }
            NativeLibrary.Free(lib);
        }
        if (loaded == null)
        {
            Status = $"SPIRV-Tools not found ({string.Join(", ", Libraries)}; Debian: apt-get install libshaderc1): guest SPIR-V gets the structural check only";
            return;
        }
        // Block layout rules depend on features the device enabled (scalar, std430 for uniforms,
        // ...) and a layout mistake is no danger to the host; LocalSizeId is core with maintenance4.
        s_options = s_optionsCreate();
        s_optionsSkipBlockLayout(s_options, 1);
        s_optionsAllowLocalSizeId(s_options, 1);
        Status = $"SPIR-V from guests is validated with SPIRV-Tools ({loaded})";
    }

    /// <summary>
    /// Null when <paramref name="code"/> (<paramref name="bytes"/> long) is a module a driver may
    /// compile for a device of Vulkan <paramref name="apiVersion"/>; else what is wrong. A hit in
    /// the cache of valid modules costs one SHA-256 of the code.
    /// </summary>
    public static string? Check(uint* code, nuint bytes, uint apiVersion, uint locationLimit = 0)
    {
        if (bytes == 0 || bytes % 4 != 0) return $"codeSize {bytes} is not a positive multiple of 4";
        if (code == null) return "no code";
        if (bytes > int.MaxValue) return $"codeSize {bytes}";
        if (Structure(code, (int)(bytes / 4), locationLimit) is { } bad) return bad;
        if (!HasValidator) return null;
        // The device's Vulkan 1.x (1.0 for anything unknown, at most 1.4: SPIRV-Tools' newest).
        uint minor = ((apiVersion >> 22) & 0x7f) == 1 ? Math.Min((apiVersion >> 12) & 0x3ff, 4u) : 0;
        var span = new ReadOnlySpan<byte>(code, (int)bytes);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(span, hash);
        string key = $"{minor}:{Convert.ToHexString(hash)}";
        if (s_valid.ContainsKey(key)) return null;
        nint context = Context(minor);
        if (context == 0) return $"SPIRV-Tools has no environment vulkan1.{minor}";
        var binary = new SpvBinary { Code = code, WordCount = bytes / 4 };
        nint diagnostic = 0;
        int result = s_validate(context, s_options, &binary, &diagnostic);
        string? error = null;
        if (result != 0)
        {
            string? text = diagnostic == 0 ? null : Marshal.PtrToStringUTF8(*(nint*)(diagnostic + 3 * sizeof(nuint)));
            error = $"invalid SPIR-V for vulkan1.{minor} (SPIRV-Tools {result}): {text?.Trim().ReplaceLineEndings(" ") ?? "no diagnostic"}";
        }
        if (diagnostic != 0) s_diagnosticDestroy(diagnostic);
        if (error != null) return error;
        if (s_valid.Count >= MaxCached) s_valid.Clear();
        s_valid.TryAdd(key, 0);
        return null;
    }

    static nint Context(uint minor)
    {
        if (s_contexts.TryGetValue((int)minor, out nint c)) return c;
        lock (s_contexts)
        {
            if (s_contexts.TryGetValue((int)minor, out c)) return c;
            int env = 0;
            var name = System.Text.Encoding.ASCII.GetBytes($"vulkan1.{minor}\0");
            fixed (byte* n = name)
                if (s_parseTargetEnv(n, &env) == 0) return 0;
            c = s_contextCreate(env);
            s_contexts[(int)minor] = c;
            return c;
        }
    }

    /// <summary>
    /// Our own walk of a module: the header (magic, version 1.0–1.6, a non-zero id bound within
    /// SPIR-V's limit, schema 0), then every instruction: a word count of at least 1 that stays
    /// inside the module; OpEntryPoint's name a terminated string inside its instruction; every
    /// Location below <paramref name="locationLimit"/> when that is not 0.
    /// </summary>
    public static string? Structure(uint* code, int words, uint locationLimit = 0)
    {
        if (words < 5) return $"{words} words: shorter than a SPIR-V header";
        if (code[0] != Magic) return $"magic 0x{code[0]:x8} is not SPIR-V's";
        uint version = code[1];
        if ((version & 0xff0000ff) != 0 || (version >> 16) != 1 || ((version >> 8) & 0xff) > 6) return $"SPIR-V version 0x{version:x8}";
        if (code[3] == 0 || code[3] > MaxIdBound) return $"id bound {code[3]}";
        if (code[4] != 0) return $"schema {code[4]}";
        for (int i = 5; i < words;)
        {
            uint count = code[i] >> 16, opcode = code[i] & 0xffff;
            if (count == 0 || count > (uint)(words - i)) return $"instruction at word {i} (opcode {opcode}) has word count {count} ({words - i} words left)";
            // A Location (decoration 30) no shader interface of the device has: drivers index
            // their interface tables with it (lavapipe faulted on a vertex input at location
            // 201326594 and an output at 587202560). Every interface's limit is at most
            // locationLimit (0: the device's limits are unknown).
            uint location = opcode == OpDecorate && count >= 4 && code[i + 2] == DecorationLocation ? code[i + 3]
                : opcode == OpMemberDecorate && count >= 5 && code[i + 3] == DecorationLocation ? code[i + 4] : 0;
            if (locationLimit != 0 && location >= locationLimit) return $"Location {location} at word {i} (the device's interfaces have {locationLimit})";
            if (opcode == OpEntryPoint)
            {
                if (count < 4 || !HasNul(code + i + 3, (int)count - 3))
                    return $"OpEntryPoint at word {i} without a terminated name";
            }
            i += (int)count;
        }
        return null;
    }

    const uint OpEntryPoint = 15, OpDecorate = 71, OpMemberDecorate = 72, DecorationLocation = 30;

    static bool HasNul(uint* words, int count) => new ReadOnlySpan<byte>(words, count * 4).IndexOf((byte)0) >= 0;

    /// <summary>The name of the OpEntryPoint at <paramref name="inst"/> (<paramref name="count"/> words), without its NUL; empty when unterminated.</summary>
    static ReadOnlySpan<byte> EntryPointName(uint* inst, int count)
    {
        var bytes = new ReadOnlySpan<byte>(inst + 3, (count - 3) * 4);
        int nul = bytes.IndexOf((byte)0);
        return nul < 0 ? default : bytes[..nul];
    }

    /// <summary>
    /// The entry points of a module that passed <see cref="Structure"/>: each OpEntryPoint's stage
    /// (the VkShaderStageFlagBits bit of its execution model, 0 for one Vulkan has no stage for) and name.
    /// </summary>
    public static (uint Stage, byte[] Name)[] EntryPoints(uint* code, int words)
    {
        var found = new List<(uint, byte[])>();
        for (int i = 5; i < words;)
        {
            uint count = code[i] >> 16, opcode = code[i] & 0xffff;
            if (count == 0 || count > (uint)(words - i)) break;
            if (opcode == OpEntryPoint && count >= 4)
                found.Add((ModelStage(code[i + 1]), EntryPointName(code + i, (int)count).ToArray()));
            i += (int)count;
        }
        return found.ToArray();
    }

    /// <summary>The VkShaderStageFlagBits bit of a SPIR-V execution model (0 for one Vulkan has no stage for).</summary>
    internal static uint ModelStage(uint model) => model switch
    {
        0 => 0x1,        // Vertex
        1 => 0x2,        // TessellationControl
        2 => 0x4,        // TessellationEvaluation
        3 => 0x8,        // Geometry
        4 => 0x10,       // Fragment
        5 => 0x20,       // GLCompute
        5267 => 0x40,    // TaskNV
        5268 => 0x80,    // MeshNV
        5313 => 0x100,   // RayGenerationKHR
        5314 => 0x1000,  // IntersectionKHR
        5315 => 0x200,   // AnyHitKHR
        5316 => 0x400,   // ClosestHitKHR
        5317 => 0x800,   // MissKHR
        5318 => 0x2000,  // CallableKHR
        5364 => 0x40,    // TaskEXT
        5365 => 0x80,    // MeshEXT
        _ => 0,
    };
}
