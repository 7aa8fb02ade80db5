using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// Graphics pipeline create infos carry state pointers the spec says are ignored in some
/// configurations; the encoder would follow them, so they are cleared (like Mesa's driver does).
/// A state struct that needs clearing inside is copied into <see cref="StateCopies"/> first: the
/// app's structs are never written.
/// </summary>
internal static unsafe class Pipelines
{
    /// <summary>Room for the state structs of one pipeline that <see cref="Sanitize"/> rewrites.</summary>
    public struct StateCopies
    {
        public VkPipelineViewportStateCreateInfo Viewport;
        public VkPipelineMultisampleStateCreateInfo Multisample;
        public VkPipelineColorBlendStateCreateInfo ColorBlend;
    }

    public static void Sanitize(VkGraphicsPipelineCreateInfo* info, StateCopies* copies, Device device)
    {
        const uint tessellation = (uint)(VkShaderStageFlagBits.VK_SHADER_STAGE_TESSELLATION_CONTROL_BIT | VkShaderStageFlagBits.VK_SHADER_STAGE_TESSELLATION_EVALUATION_BIT);
        uint stages = 0;
        for (uint i = 0; i < info->stageCount && info->pStages != null; i++)
            stages |= (uint)info->pStages[i].stage;
        if ((stages & tessellation) == 0)
            info->pTessellationState = null;

        bool discard = info->pRasterizationState != null && info->pRasterizationState->rasterizerDiscardEnable != 0
            && !IsDynamic(info, VkDynamicState.VK_DYNAMIC_STATE_RASTERIZER_DISCARD_ENABLE);
        if (discard)
        {
            info->pViewportState = null;
            info->pMultisampleState = null;
            info->pDepthStencilState = null;
            info->pColorBlendState = null;
        }

        // Dynamic viewports and scissors: the arrays are ignored.
        if (info->pViewportState != null)
        {
            bool viewports = IsDynamic(info, VkDynamicState.VK_DYNAMIC_STATE_VIEWPORT) || IsDynamic(info, VkDynamicState.VK_DYNAMIC_STATE_VIEWPORT_WITH_COUNT);
            bool scissors = IsDynamic(info, VkDynamicState.VK_DYNAMIC_STATE_SCISSOR) || IsDynamic(info, VkDynamicState.VK_DYNAMIC_STATE_SCISSOR_WITH_COUNT);
            if ((viewports && info->pViewportState->pViewports != null) || (scissors && info->pViewportState->pScissors != null))
            {
                copies->Viewport = *info->pViewportState;
                if (viewports)
                    copies->Viewport.pViewports = null;
                if (scissors)
                    copies->Viewport.pScissors = null;
                info->pViewportState = &copies->Viewport;
            }
        }

        // VK_EXT_extended_dynamic_state3: a dynamic sample mask ignores pSampleMask; dynamic
        // rasterization samples leave rasterizationSamples, which sizes pSampleMask, unset.
        if (info->pMultisampleState != null && info->pMultisampleState->pSampleMask != null)
        {
            if (IsDynamic(info, VkDynamicState.VK_DYNAMIC_STATE_SAMPLE_MASK_EXT))
            {
                copies->Multisample = *info->pMultisampleState;
                copies->Multisample.pSampleMask = null;
                info->pMultisampleState = &copies->Multisample;
            }
            else if (IsDynamic(info, VkDynamicState.VK_DYNAMIC_STATE_RASTERIZATION_SAMPLES_EXT) &&
                     !IsSampleCount((uint)info->pMultisampleState->rasterizationSamples))
            {
                copies->Multisample = *info->pMultisampleState;
                copies->Multisample.rasterizationSamples = VkSampleCountFlagBits.VK_SAMPLE_COUNT_1_BIT;
                info->pMultisampleState = &copies->Multisample;
            }
        }

        // VK_EXT_extended_dynamic_state3: with blend enable, equation and write mask dynamic (and
        // advanced blending dynamic or not in use), the attachment states are ignored.
        if (info->pColorBlendState != null && info->pColorBlendState->pAttachments != null &&
            IsDynamic(info, VkDynamicState.VK_DYNAMIC_STATE_COLOR_BLEND_ENABLE_EXT) &&
            IsDynamic(info, VkDynamicState.VK_DYNAMIC_STATE_COLOR_BLEND_EQUATION_EXT) &&
            IsDynamic(info, VkDynamicState.VK_DYNAMIC_STATE_COLOR_WRITE_MASK_EXT) &&
            (IsDynamic(info, VkDynamicState.VK_DYNAMIC_STATE_COLOR_BLEND_ADVANCED_EXT) || !device.IsEnabled("VK_EXT_blend_operation_advanced")))
        {
            copies->ColorBlend = *info->pColorBlendState;
            copies->ColorBlend.pAttachments = null;
            info->pColorBlendState = &copies->ColorBlend;
        }
    }

    private static bool IsSampleCount(uint samples) => samples is 1 or 2 or 4 or 8 or 16 or 32 or 64;

    private static bool IsDynamic(VkGraphicsPipelineCreateInfo* info, VkDynamicState state)
    {
        VkPipelineDynamicStateCreateInfo* d = info->pDynamicState;
        if (d == null)
            return false;
        for (uint i = 0; i < d->dynamicStateCount; i++)
            if (d->pDynamicStates[i] == state)
                return true;
        return false;
    }
}
