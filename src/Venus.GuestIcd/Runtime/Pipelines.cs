using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// Graphics pipeline create infos carry state pointers the spec says are ignored in some
/// configurations; the encoder would follow them, so they are cleared (like Mesa's driver does).
/// </summary>
internal static unsafe class Pipelines
{
    public static void Sanitize(VkGraphicsPipelineCreateInfo* info)
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
    }

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
