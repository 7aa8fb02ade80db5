namespace Venus.HostRenderer.Native;

/// <summary>
/// The descriptor resources one entry point of a module uses: the (set, binding) of every
/// descriptor variable (storage class UniformConstant, Uniform or StorageBuffer) that a function
/// reachable from the entry point names as a pointer operand (loads, stores, access chains, atomics,
/// texel pointers, array lengths, copies, calls), with the descriptor types its SPIR-V type allows and
/// its array size. Drivers index a pipeline layout with these (lavapipe faulted creating a pipeline
/// whose shader used a set the layout lacks, and at a dispatch whose storage image the layout called
/// a storage buffer). Reads only a module that passed <see cref="SpirvTools.Structure"/>; every
/// operand index is checked against its instruction's word count, every id against the module's
/// bound; a variable named only where this reader does not look counts as unused (no check rather
/// than a false refusal).
/// </summary>
internal static unsafe class SpirvResources
{
    /// <summary>One resource: its set, binding, the descriptor types it may be (<see cref="Allows"/>), its array size (0: runtime array, 1: none).</summary>
    public readonly record struct Resource(uint Set, uint Binding, Kind Kind, uint Count);

    /// <summary>What a resource variable's type lets its descriptor be.</summary>
    public enum Kind : byte { Any, Sampler, CombinedImageSampler, Image, SampledImage, StorageImage, UniformTexelBuffer, StorageTexelBuffer, TexelBuffer, InputAttachment, UniformBlock, StorageBlock, AccelerationStructure }

    /// <summary>Whether a layout binding of VkDescriptorType <paramref name="type"/> may hold a resource of <paramref name="kind"/>.</summary>
    public static bool Allows(Kind kind, int type) => type switch
    {
        1000351000 => true, // MUTABLE_EXT: any of its list
        0 => kind is Kind.Sampler or Kind.Any,
        1 => kind is Kind.CombinedImageSampler or Kind.Sampler or Kind.Image or Kind.SampledImage or Kind.Any,
        2 => kind is Kind.Image or Kind.SampledImage or Kind.Any,
        3 => kind is Kind.Image or Kind.StorageImage or Kind.Any,
        4 => kind is Kind.TexelBuffer or Kind.UniformTexelBuffer or Kind.Any,
        5 => kind is Kind.TexelBuffer or Kind.StorageTexelBuffer or Kind.Any,
        6 or 8 or 1000138000 => kind is Kind.UniformBlock or Kind.Any,
        7 or 9 => kind is Kind.StorageBlock or Kind.Any,
        10 => kind is Kind.InputAttachment or Kind.Image or Kind.Any,
        1000150000 or 1000165000 => kind is Kind.AccelerationStructure or Kind.Any,
        _ => true, // a type this reader does not know: left to the driver
    };

    const uint OpEntryPoint = 15, OpDecorate = 71, OpTypeImage = 25, OpTypeSampler = 26, OpTypeSampledImage = 27,
        OpTypeArray = 28, OpTypeRuntimeArray = 29, OpTypeStruct = 30, OpTypePointer = 32, OpConstant = 43,
        OpVariable = 59, OpFunction = 54, OpFunctionEnd = 56, OpFunctionCall = 57, OpTypeAccelerationStructure = 5341;
    const uint DecorationBlock = 2, DecorationBufferBlock = 3, DecorationBinding = 33, DecorationDescriptorSet = 34;
    const uint StorageUniformConstant = 0, StorageUniform = 2, StorageBuffer = 12;
    /// <summary>Most descriptor variables one module may have for this reader (beyond: the rest are not checked).</summary>
    const int MaxVariables = 4096;

    /// <summary>
    /// The resources the entry point (<paramref name="stage"/> bit, <paramref name="name"/>) of
    /// <paramref name="code"/> uses; empty when it has none or no such entry point.
    /// </summary>
    public static Resource[] Used(uint* code, int words, uint stage, ReadOnlySpan<byte> name)
    {
        if (words < 5 || code[0] != 0x07230203) return [];
        uint bound = code[3];
        if (bound == 0 || bound > 0x3FFFFF) return [];
        // Pass 1: declarations. Small maps from id: decorations of variables and structs, types, constants.
        var set = new Dictionary<uint, uint>();
        var binding = new Dictionary<uint, uint>();
        var blocks = new Dictionary<uint, uint>();     // struct id -> Block or BufferBlock
        var types = new Dictionary<uint, (uint Op, uint A, uint B, uint C)>();
        var constants = new Dictionary<uint, uint>();
        var variables = new Dictionary<uint, (uint Type, uint Storage)>();
        var functions = new Dictionary<uint, (int Start, int End)>();
        uint entry = 0;
        int functionStart = -1;
        uint functionId = 0;
        for (int i = 5; i < words;)
        {
            uint count = code[i] >> 16, op = code[i] & 0xffff;
            if (count == 0 || count > (uint)(words - i)) return [];
            uint W(int k) => k < count ? code[i + k] : 0;
            switch (op)
            {
                case OpEntryPoint when count >= 4 && entry == 0:
                    if (ModelStage(W(1)) == stage && NameIs(code + i + 3, (int)count - 3, name)) entry = W(2);
                    break;
                case OpDecorate when count >= 3:
                    if (W(2) == DecorationDescriptorSet && count >= 4) set[W(1)] = W(3);
                    else if (W(2) == DecorationBinding && count >= 4) binding[W(1)] = W(3);
                    else if (W(2) is DecorationBlock or DecorationBufferBlock) blocks[W(1)] = W(2);
                    break;
                case OpTypeImage when count >= 9: types[W(1)] = (op, W(3), W(7), 0); break; // dim, sampled
                case OpTypeSampler or OpTypeSampledImage or OpTypeStruct or OpTypeAccelerationStructure when count >= 2: types[W(1)] = (op, 0, 0, 0); break;
                case OpTypeArray when count >= 4: types[W(1)] = (op, W(2), W(3), 0); break; // element, length id
                case OpTypeRuntimeArray when count >= 3: types[W(1)] = (op, W(2), 0, 0); break;
                case OpTypePointer when count >= 4: types[W(1)] = (op, W(2), W(3), 0); break; // storage, pointee
                case OpConstant when count >= 4: constants[W(2)] = W(3); break;
                case OpVariable when count >= 4 && functionStart < 0:
                    if (W(3) is StorageUniformConstant or StorageUniform or StorageBuffer && variables.Count < MaxVariables) variables[W(2)] = (W(1), W(3));
                    break;
                case OpFunction when count >= 3: functionStart = i; functionId = W(2); break;
                case OpFunctionEnd:
                    if (functionStart >= 0) functions[functionId] = (functionStart, i);
                    functionStart = -1;
                    break;
            }
            i += (int)count;
        }
        if (entry == 0 || variables.Count == 0 || !functions.ContainsKey(entry)) return [];
        // Pass 2: the functions reachable from the entry point, and the variables they name.
        var used = new HashSet<uint>();
        var visited = new HashSet<uint> { entry };
        var pending = new Stack<uint>();
        pending.Push(entry);
        while (pending.Count > 0)
        {
            var (start, end) = functions[pending.Pop()];
            for (int i = start; i < end;)
            {
                uint count = code[i] >> 16, op = code[i] & 0xffff;
                if (op == OpFunctionCall && count >= 4)
                {
                    uint callee = code[i + 3];
                    if (functions.ContainsKey(callee) && visited.Add(callee)) pending.Push(callee);
                    for (int k = 4; k < count; k++) Use(code[i + k]);
                }
                else
                {
                    var (first, second) = PointerOperands(op);
                    if (first != 0 && first < count) Use(code[i + first]);
                    if (second != 0 && second < count) Use(code[i + second]);
                }
                i += (int)count;
            }
        }
        var result = new List<Resource>();
        foreach (uint v in used)
        {
            if (!set.TryGetValue(v, out uint s) || !binding.TryGetValue(v, out uint b)) continue;
            var (pointerType, storage) = variables[v];
            if (!types.TryGetValue(pointerType, out var ptr) || ptr.Op != OpTypePointer) continue;
            uint type = ptr.B, arraySize = 1;
            if (types.TryGetValue(type, out var t) && t.Op == OpTypeArray)
            {
                // A length that is a specialization constant (not an OpConstant) is left unchecked.
                arraySize = constants.TryGetValue(t.B, out uint n) ? n : 1;
                type = t.A;
            }
            else if (t.Op == OpTypeRuntimeArray)
            {
                arraySize = 0;
                type = t.A;
            }
            result.Add(new Resource(s, b, KindOf(type, storage, types, blocks), arraySize));
        }
        return result.ToArray();

        void Use(uint id)
        {
            if (variables.ContainsKey(id)) used.Add(id);
        }
    }

    static Kind KindOf(uint type, uint storage, Dictionary<uint, (uint Op, uint A, uint B, uint C)> types, Dictionary<uint, uint> blocks)
    {
        if (storage == StorageBuffer) return Kind.StorageBlock;
        if (!types.TryGetValue(type, out var t)) return Kind.Any;
        if (storage == StorageUniform)
            return t.Op == OpTypeStruct && blocks.TryGetValue(type, out uint d) ? (d == DecorationBufferBlock ? Kind.StorageBlock : Kind.UniformBlock) : Kind.Any;
        return t.Op switch
        {
            OpTypeSampler => Kind.Sampler,
            OpTypeSampledImage => Kind.CombinedImageSampler,
            OpTypeAccelerationStructure => Kind.AccelerationStructure,
            OpTypeImage => (t.A, t.B) switch
            {
                (5, 1) => Kind.UniformTexelBuffer,
                (5, 2) => Kind.StorageTexelBuffer,
                (5, _) => Kind.TexelBuffer,
                (6, _) => Kind.InputAttachment,
                (_, 1) => Kind.SampledImage,
                (_, 2) => Kind.StorageImage,
                _ => Kind.Image,
            },
            _ => Kind.Any,
        };
    }

    /// <summary>The word indices (from the instruction's first word) of the pointer operands of <paramref name="op"/>; 0 for none.</summary>
    static (int, int) PointerOperands(uint op) => op switch
    {
        60 => (3, 0),          // OpImageTexelPointer
        61 => (3, 0),          // OpLoad
        62 => (1, 0),          // OpStore
        63 or 64 => (1, 2),    // OpCopyMemory, OpCopyMemorySized
        65 or 66 or 67 or 70 => (3, 0), // OpAccessChain, OpInBoundsAccessChain, OpPtrAccessChain, OpInBoundsPtrAccessChain
        68 => (3, 0),          // OpArrayLength
        83 => (3, 0),          // OpCopyObject
        227 or (>= 229 and <= 242) => (3, 0), // atomics but OpAtomicStore
        228 => (1, 0),         // OpAtomicStore
        318 => (3, 0), 319 => (1, 0), // OpAtomicFlagTestAndSet, OpAtomicFlagClear
        5614 or 5615 or 6035 => (3, 0), // OpAtomicFMinEXT, OpAtomicFMaxEXT, OpAtomicFAddEXT
        4457 => (3, 0), 4458 => (1, 0), // OpCooperativeMatrixLoadKHR, OpCooperativeMatrixStoreKHR
        5359 => (3, 0), 5360 => (1, 0), // OpCooperativeMatrixLoadNV, OpCooperativeMatrixStoreNV
        _ => (0, 0),
    };

    static bool NameIs(uint* words, int count, ReadOnlySpan<byte> name)
    {
        var bytes = new ReadOnlySpan<byte>(words, count * 4);
        int nul = bytes.IndexOf((byte)0);
        return nul >= 0 && bytes[..nul].SequenceEqual(name);
    }

    static uint ModelStage(uint model) => SpirvTools.ModelStage(model);
}
